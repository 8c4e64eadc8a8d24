package template

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary rules files: Parse must not panic, errors must
// be *Error, and every rule read must carry a JSON object as its pattern.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/seed-event-rule-template.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`[{"name": "x", "eventPattern": "{\"a\": [1]}", "targets": [{"id": "t", "arn": {"Ref": "Q"}}]}]`))
	f.Add([]byte("Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: !Sub x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, r := range rules {
			var obj map[string]any
			if err := json.Unmarshal(r.EventPattern, &obj); err != nil {
				t.Fatalf("rule %s: pattern %q is not a JSON object: %v", r.Label(), r.EventPattern, err)
			}
		}
	})
}
