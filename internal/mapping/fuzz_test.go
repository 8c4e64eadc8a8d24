package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// FuzzMap maps arbitrary properties documents (what AWS sends) through the
// published Lambda mapping plus itemsToParse, team and title. Whatever the
// document: no panic; every entity has a valid identifier and blueprint and
// encodes as JSON; every failure is a *Error naming this resource.
func FuzzMap(f *testing.F) {
	for _, seed := range []string{
		`{"FunctionName": "f", "Arn": "arn:aws:lambda:eu-west-1:1:function:f", "Layers": ["a", "b"], "Tags": [{"Key": "team", "Value": "x"}]}`,
		`{}`, `{"FunctionName": 5}`, `{"FunctionName": "a|b"}`, `{"FunctionName": ".."}`, `{"Layers": {"a": 1}}`,
		`{"FunctionName": "f", "Layers": [null, 1, "ok", [], {}]}`, `{"FunctionName": "f", "Tags": "x"}`,
		`{"FunctionName": "f", "MemorySize": 1e400}`, `{"item": "x", "FunctionName": "amplify-x"}`,
	} {
		f.Add([]byte(seed))
	}
	r := compileConfig(f, []byte(`{"resources": [{"kind": "AWS::Lambda::Function",
	  "selector": {"query": ".FunctionName | (type != \"string\") or (startswith(\"amplify\") | not)"},
	  "port": {"entity": {"mappings": [
	    {"identifier": ".FunctionName", "title": ".Description // .FunctionName", "blueprint": "lambda",
	     "team": "[.Tags[]? | select(.Key == \"team\") | .Value]",
	     "properties": {"link": "\"https://console.aws.amazon.com/go/view?arn=\" + .Arn", "memorySize": ".MemorySize", "tags": ".Tags"},
	     "relations": {"region": ".Arn | split(\":\")[3]"}},
	    {"itemsToParse": ".Layers", "identifier": ".item", "blueprint": "layer", "properties": {"fn": ".FunctionName"}}]}}}]}`)).Resources()[0]
	f.Fuzz(func(t *testing.T, doc []byte) {
		var props map[string]any
		if json.Unmarshal(doc, &props) != nil {
			return
		}
		res := source.Resource{Region: "eu-west-1", Kind: r.Kind, Identifier: "fuzz-resource", Properties: props}
		out, err := r.Map(t.Context(), res)
		if err != nil {
			for _, e := range unjoin(err) {
				var mapErr *Error
				if !errors.As(e, &mapErr) || mapErr.Resource.Identifier != "fuzz-resource" || !strings.HasPrefix(mapErr.Path, "resources[0].") {
					t.Fatalf("error %v is not a *Error with a path for the resource", e)
				}
			}
		}
		if !out.Selected && len(out.Entities) > 0 {
			t.Fatal("entities from an unselected resource")
		}
		for _, e := range out.Entities {
			if entity.ValidateIdentifier(e.Identifier) != nil || entity.ValidateBlueprint(e.Blueprint) != nil {
				t.Fatalf("invalid entity produced: %+v", e)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("entity does not encode: %v", err)
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
