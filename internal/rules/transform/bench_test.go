package transform

import (
	"testing"
	"time"
)

// BenchmarkRender renders the seed's template for a CreateFunction event.
func BenchmarkRender(b *testing.B) {
	tc := loadCases(b)[0]
	tr, err := Compile(tc.Paths, tc.Template)
	if err != nil {
		b.Fatal(err)
	}
	event := []byte(tc.Event)
	meta := Meta{RuleName: "r", IngestionTime: time.Unix(0, 0)}
	if _, err := tr.Render(event, meta); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Render(event, meta); err != nil {
			b.Fatal(err)
		}
	}
}
