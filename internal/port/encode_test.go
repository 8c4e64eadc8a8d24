package port

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// wireEntity is an entity as Port's entity routes take it, encoded by
// encoding/json: what encodeEntity wrote before it went through jsonvalue.
type wireEntity struct {
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Relations  map[string]any `json:"relations,omitempty"`
}

func TestEncodeEntityMatchesEncodingJSON(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	cases := []entity.Entity{
		{Identifier: "a"},
		{Identifier: "fn-1", Title: "Fn <1> & co", Icon: "Lambda", Team: "platform",
			Properties: map[string]any{"memory": 128, "ratio": 0.25, "big": huge, "tiny": 1e-7, "huge": 1e21, "on": true, "none": nil,
				"tags": map[string]any{"b": "2", "a": "1"}, "list": []any{"x", 1, map[string]any{"k": []any{}}}, "text": "line\nbreak\t\"q\" \u2028 é \x01"}},
		{Identifier: "svc", Team: []string{"a", "b"}, Properties: map[string]any{}, Relations: map[string]any{"cluster": "c1", "deps": []any{"x", "y"}, "gone": nil}},
		{Identifier: "t", Team: []any{"a"}, Properties: nil, Relations: map[string]any{}},
		{Identifier: "bad\xffutf8", Title: "\xfe", Properties: map[string]any{"k\xff": "v"}},
	}
	if len(cases) < 5 {
		t.Fatal("cases lost")
	}
	for i, e := range cases {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(wireEntity{Identifier: e.Identifier, Title: e.Title, Icon: e.Icon, Team: e.Team, Properties: e.Properties, Relations: e.Relations}); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		got, err := encodeEntity(e)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d: %s (%v)\nencoding/json: %s", i, got, err, want)
		}
	}
}
