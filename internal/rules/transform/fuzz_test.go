package transform

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCompile feeds arbitrary templates and one path: Compile must not panic,
// and what it accepts must render without panicking; a JSON template's
// output is valid JSON or an *OutputError.
func FuzzCompile(f *testing.F) {
	for _, tc := range loadCases(f) {
		f.Add(tc.Template, "$.detail.v")
	}
	f.Add(`{"<v>": 1}`, "$.a[0].b-c/d")
	f.Fuzz(func(t *testing.T, template, path string) {
		tr, err := Compile(map[string]string{"v": path}, template)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error of type %T: %v", err, err)
			}
			return
		}
		for _, ev := range []string{`{"detail":{"v":"x\"y"}}`, `{"detail":{"v":{"k":[1]}}}`, `{}`} {
			r, err := tr.Render([]byte(ev), Meta{RuleName: "fuzz"})
			if err != nil {
				var oe *OutputError
				if !errors.As(err, &oe) {
					t.Fatalf("Render error of type %T: %v", err, err)
				}
				continue
			}
			if tr.isJSON && !json.Valid(r.Output) {
				t.Fatalf("JSON template %q gave invalid output %q", template, r.Output)
			}
		}
	})
}

// FuzzApply renders arbitrary events through the seed's transformer: no
// panic, output valid JSON or an error, and a plain value round-trips.
func FuzzApply(f *testing.F) {
	tc := loadCases(f)[0]
	tr, err := Compile(tc.Paths, tc.Template)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range loadCases(f) {
		if c.Event != "" {
			f.Add([]byte(c.Event))
		}
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		out, err := tr.Apply(event)
		if err != nil {
			return
		}
		var msg map[string]any
		if err := json.Unmarshal(out, &msg); err != nil {
			t.Fatalf("output %q is not a JSON object: %v", out, err)
		}
		if msg["resource_type"] != "AWS::Lambda::Function" {
			t.Fatalf("constant field lost in %s", out)
		}
	})
}
