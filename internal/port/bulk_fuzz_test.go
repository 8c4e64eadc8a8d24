package port

import (
	"encoding/json"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// FuzzBulkAnswer: whatever Port answers to a bulk upsert, every entity of
// the batch ends with either an error or a success that the answer named by
// index, and entities outside the batch are not touched.
func FuzzBulkAnswer(f *testing.F) {
	f.Add([]byte(`{"ok":true,"entities":[{"created":true,"identifier":"a","index":0},{"created":false,"identifier":"b","index":1}],"errors":[]}`))
	f.Add([]byte(`{"ok":false,"entities":[{"index":0}],"errors":[{"identifier":"b","index":1,"statusCode":422,"error":"invalid_request","message":"x"}]}`))
	f.Add([]byte(`{"entities":[{"index":-1},{"index":7}],"errors":[{"index":99}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ents := []entity.Entity{{Identifier: "outside"}, {Identifier: "a"}, {Identifier: "b"}}
		indexes := []int{1, 2}
		results := make([]Result, len(ents))
		applyBulkAnswer(raw, "/v1/blueprints/x/entities/bulk", "trace", ents, indexes, results)
		if results[0] != (Result{}) {
			t.Fatalf("entity outside the batch touched: %+v", results[0])
		}
		var answer bulkAnswer
		named := map[int]bool{}
		if json.Unmarshal(raw, &answer) == nil {
			for _, e := range answer.Entities {
				named[e.Index] = true
			}
		}
		for k, i := range indexes {
			if results[i].Err == nil && !named[k] {
				t.Fatalf("index %d succeeded without the answer naming it: %s", k, raw)
			}
		}
	})
}
