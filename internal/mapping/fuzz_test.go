package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// fuzzConfig is FuzzMap's config: the published Lambda mapping plus
// itemsToParse, team and title.
const fuzzConfig = `{"resources": [{"kind": "AWS::Lambda::Function",
  "selector": {"query": ".FunctionName | (type != \"string\") or (startswith(\"amplify\") | not)"},
  "port": {"entity": {"mappings": [
    {"identifier": ".FunctionName", "title": ".Description // .FunctionName", "blueprint": "lambda",
     "team": "[.Tags[]? | select(.Key == \"team\") | .Value]",
     "properties": {"link": "\"https://console.aws.amazon.com/go/view?arn=\" + .Arn", "memorySize": ".MemorySize", "tags": ".Tags"},
     "relations": {"region": ".Arn | split(\":\")[3]"}},
    {"itemsToParse": ".Layers", "identifier": ".item", "blueprint": "layer", "properties": {"fn": ".FunctionName"}}]}}}]}`

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
	r := compileConfig(f, []byte(fuzzConfig)).Resources()[0]
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

// fuzzOceanConfig is FuzzMapOcean's port-app-config entry.
const fuzzOceanConfig = `{"resources": [{"kind": "AWS::Lambda::Function", "selector": {"query": "(.item | type) == \"string\" and .item != \"skip\""},
	  "port": {"itemsToParse": ".Properties.Layers", "entity": {"mappings": {"identifier": ".item", "blueprint": "'layer'",
	    "title": ".Properties.Tags | from_entries | .team", "properties": {"fn": ".Identifier", "memory": ".Properties.MemorySize * 2",
	    "layers": ".Properties.Layers", "tags": ".Properties.Tags | map(.Key)"}, "relations": {"account": ".__AccountId"}}}}}]}`

// FuzzMapOcean maps arbitrary properties documents through a port-app-config
// entry under Ocean's rules (items with the top-level transform, a boolean
// selector that reads the item, fields that may fail). Whatever the
// document: no panic; entities are valid and encode; a failed field is null,
// never an error; every error is a *Error of the selector or the identifier,
// naming this resource.
func FuzzMapOcean(f *testing.F) {
	for _, seed := range []string{
		`{"FunctionName": "f", "Layers": ["a", "b"], "Tags": [{"Key": "team", "Value": "x"}]}`,
		`{}`, `{"Layers": "x"}`, `{"Layers": [1, null, {"a": 1}]}`, `{"Layers": ["a"], "Tags": "x"}`, `{"Layers": ["skip"]}`,
		`{"Layers": ["a"], "MemorySize": 1e400}`,
	} {
		f.Add([]byte(seed))
	}
	r := compileConfig(f, []byte(fuzzOceanConfig)).Resources()[0]
	f.Fuzz(func(t *testing.T, doc []byte) {
		var props map[string]any
		if json.Unmarshal(doc, &props) != nil {
			return
		}
		res := source.Resource{AccountID: "123456789012", Region: "eu-west-1", Kind: r.Kind, Identifier: "fuzz-resource", Properties: props}
		out, err := r.Map(t.Context(), res)
		if err != nil {
			for _, e := range unjoin(err) {
				var mapErr *Error
				if !errors.As(e, &mapErr) || mapErr.Resource.Identifier != "fuzz-resource" ||
					!(strings.HasSuffix(mapErr.Path, ".selector.query") || strings.HasSuffix(mapErr.Path, ".identifier")) {
					t.Fatalf("error %v is not a selector or identifier *Error for the resource", e)
				}
			}
		}
		if !out.Selected && len(out.Entities) > 0 {
			t.Fatal("entities from an unselected resource")
		}
		for _, e := range out.Entities {
			if entity.ValidateIdentifier(e.Identifier) != nil || e.Blueprint != "layer" || e.Relations["account"] != "123456789012" {
				t.Fatalf("invalid entity produced: %+v", e)
			}
			if e.Properties["layers"] != nil || e.Properties["fn"] != "fuzz-resource" {
				t.Fatalf("the items' array was not removed, or the document lost its identifier: %+v", e)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("entity does not encode: %v", err)
			}
		}
	})
}
