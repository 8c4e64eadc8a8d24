package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/jq"
)

// FuzzParse feeds arbitrary documents (as JSON and as YAML) through Parse and
// Validate. Whatever the input: no panic; a decode error or a config; every
// problem and warning has a message; Compile succeeds exactly when Validate
// finds nothing; and a valid config survives a JSON round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		lambdaJSON, lambdaYAML, `{}`, `[]`, `null`, `{"resources": null}`, `{"resources": [{}]}`,
		`{"resources": []}`, // found by this fuzzer: an empty list was re-encoded as null
		`{"resources": [{"kind": "AWS::S3::Bucket", "port": {"entity": {"mappings": [{"identifier": ".a", "blueprint": "b", "properties": {"x": ".x", "x": "."}}]}}}]}`,
		`{"resources": [{"kind": "AWS::X::Y", "selector": {"aws": {"regions_config": {"eu-west-1": {"resources_models": ["{}", "[", 1]}}}}}]}`,
		"resources:\n  - kind: AWS::S3::Bucket\n    port: {entity: {mappings: [{identifier: .a, blueprint: \"if . then \\\"a\\\" else \\\"b\\\" end\"}]}}\n",
		`{"a": {"b": {"c": [[[[[[1]]]]]]}}}`, "\ufeff{}", `{"resources": []} x`,
		`{"resources": [{"kind": null, "selector": {"aws": {"regions_config": {"": {}, "0": null, "a b%2F/~1": {"x": 1}}}}, "port": {"entity": {"mappings": [{"identifier": null, "blueprint": " ", "properties": {"": ".a", "x/y~z": " "}}], "relations": {}}}}]}`,
		`{"resources": [null, 1, {"kind": "AWS::A::B", "0": 1}], "resources": 2, "next_token": 1}`,
		// Ocean's port-app-config.yml
		"resources:\n  - kind: AWS::S3::Bucket\n    selector: {query: 'true', useGetResourceAPI: 'true'}\n    port: {entity: {mappings: {identifier: .Identifier, blueprint: '\"b\"', properties: {a: \"'x' + .Identifier\"}}}}\n",
		`{"entityDeletionThreshold": "0.5", "deleteDependentEntities": "yes", "resources": [{"kind": "cloudResource", "selector": {"query": "true", "resourceKinds": ["AWS::A::B", "AWS::C::D"], "regionPolicy": {"allow": ["*"], "deny": ["eu-west-1"]}}, "port": {"entity": {"mappings": {"identifier": ".Identifier", "blueprint": "\"b\"", "relations": {"r": {"combinator": "and"}}}}, "itemsToParse": ".Properties.X", "itemsToParseName": "x"}}]}`,
		`{"enableMergeEntity": 0, "resources": [{"kind": "AWS::ELBV2::LoadBalancer", "selector": {"query": "nosuch"}, "port": {"entity": {"mappings": [{"identifier": {"rules": []}, "blueprint": ""}]}}}]}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asYAML bool) {
		format := JSON
		if asYAML {
			format = YAML
		}
		cfg, err := Parse(data, format)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty decode error")
			}
			return
		}
		problems := Validate(cfg)
		for _, p := range append(problems, cfg.Warnings...) {
			if p.Message == "" {
				t.Fatalf("problem without a message at %q", p.Path)
			}
		}
		_, err = Compile(cfg, jq.WithMaxOutputs(10))
		var verr *ValidationError
		if (len(problems) == 0) != (err == nil) || (err != nil && (!errors.As(err, &verr) || len(verr.Problems) != len(problems))) {
			t.Fatalf("Compile error %v disagrees with Validate's %d problems", err, len(problems))
		}
		if len(problems) > 0 {
			return
		}
		encoded, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("valid config does not encode: %v", err)
		}
		back, err := Parse(encoded, JSON)
		if err != nil {
			t.Fatalf("re-encoded config does not parse: %v\n%s", err, encoded)
		}
		if p := Validate(back); len(p) != 0 {
			t.Fatalf("re-encoded config has problems %v\n%s", p, encoded)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(encoded) && !strings.Contains(string(encoded), `"regions_config":{}`) {
			t.Fatalf("round trip changed the config:\n%s\n%s", encoded, again)
		}
	})
}
