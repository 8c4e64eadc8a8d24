package ruletest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPrepareEvent feeds arbitrary event files: no panic, and whatever is
// accepted is a JSON object; a wrapped record keeps the record as detail.
func FuzzPrepareEvent(f *testing.F) {
	files, err := filepath.Glob("testdata/cloudtrail/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed records: %v", err)
	}
	for _, name := range append(files, "testdata/seed-createfunction-event.json") {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		event, wrapped, err := PrepareEvent(data)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(event, &obj); err != nil || obj == nil {
			t.Fatalf("prepared event %q is not a JSON object: %v", event, err)
		}
		if wrapped {
			var detail map[string]any
			if err := json.Unmarshal(obj["detail"], &detail); err != nil || detail["eventSource"] == nil {
				t.Fatalf("wrapped event lost the record: %s", event)
			}
		}
	})
}
