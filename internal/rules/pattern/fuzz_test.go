package pattern

import (
	"encoding/json"
	"testing"
)

// FuzzCompile checks that Compile never panics and that what it accepts is a
// JSON object and can be matched against any event without panicking.
func FuzzCompile(f *testing.F) {
	for _, tc := range loadYAML[matchCase](f, "match.yaml") {
		f.Add([]byte(tc.Pattern))
	}
	for _, tc := range loadYAML[errorCase](f, "errors.yaml") {
		f.Add([]byte(tc.Pattern))
	}
	event := []byte(`{"source":"aws.lambda","detail":{"a":[1,"x",null,{"b":true}],"ip":"10.0.0.1"}}`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Compile(raw)
		if err != nil {
			if _, ok := err.(*CompileError); !ok {
				t.Fatalf("Compile error of type %T, want *CompileError: %v", err, err)
			}
			return
		}
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil {
			t.Fatalf("Compile accepted %q, which is not a JSON object", raw)
		}
		p.Match(event)
	})
}

// FuzzMatch matches arbitrary events against every table pattern: no panic,
// and the same answer for the JSON text and its decoded form.
func FuzzMatch(f *testing.F) {
	cases := loadYAML[matchCase](f, "match.yaml")
	patterns := make([]*Pattern, len(cases))
	for i, tc := range cases {
		patterns[i] = MustCompile(tc.Pattern)
		f.Add([]byte(tc.Event))
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		var decoded map[string]any
		decodedOK := json.Unmarshal(event, &decoded) == nil && decoded != nil
		for i, p := range patterns {
			fromText, err := p.MatchJSON(event)
			if err != nil {
				continue
			}
			if !decodedOK {
				continue
			}
			// Decoding through float64 loses number text (1.0 becomes 1), so
			// only compare events whose numbers survive that round trip.
			if reencoded, _ := json.Marshal(decoded); !sameNumbers(event, reencoded) {
				continue
			}
			if fromMap := p.Match(decoded); fromMap != fromText {
				t.Fatalf("case %q: text match %v, decoded match %v for %s", cases[i].Name, fromText, fromMap, event)
			}
		}
	})
}

// sameNumbers reports whether a and b decode to the same number texts.
func sameNumbers(a, b []byte) bool {
	na, nb := numberTexts(a), numberTexts(b)
	if len(na) != len(nb) {
		return false
	}
	for k, v := range na {
		if nb[k] != v {
			return false
		}
	}
	return true
}

func numberTexts(b []byte) map[string]int {
	doc, err := decodeJSON(b)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case json.Number:
			out[x.String()]++
		case []any:
			for _, el := range x {
				walk(el)
			}
		case map[string]any:
			for _, el := range x {
				walk(el)
			}
		}
	}
	walk(doc)
	return out
}
