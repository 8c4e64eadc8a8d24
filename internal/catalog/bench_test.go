package catalog

import "testing"

// BenchmarkDecode is the one-time cost of the embedded catalogue, paid by
// the first lookup or region check of a process (a Lambda cold start).
func BenchmarkDecode(b *testing.B) {
	for b.Loop() {
		if _, err := decode(embedded); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidRegion(b *testing.B) {
	ValidRegion("eu-west-1")
	for b.Loop() {
		ValidRegion("eusc-de-east-1")
	}
}
