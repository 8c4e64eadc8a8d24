package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type validateCase struct {
	Name     string    `json:"name"`
	JSON     string    `json:"json"`
	YAML     string    `json:"yaml"`
	Problems []string  `json:"problems"`
	Warnings *[]string `json:"warnings"`
}

func readCases[T any](t *testing.T, file string) []T {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []T
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s has no cases", file)
	}
	return cases
}

// minValidateCases is how many cases testdata/validate.yaml held when this
// floor was set: a table cut short by mistake fails instead of passing.
const minValidateCases = 24

func TestValidate(t *testing.T) {
	cases := readCases[validateCase](t, "testdata/validate.yaml")
	if len(cases) < minValidateCases {
		t.Fatalf("testdata/validate.yaml has %d cases, want at least %d", len(cases), minValidateCases)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			doc, format := []byte(tc.JSON), JSON
			if tc.YAML != "" {
				doc, format = []byte(tc.YAML), YAML
			}
			cfg, err := Parse(doc, format)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			matchAll(t, "problem", Validate(cfg), tc.Problems)
			if tc.Warnings != nil {
				matchAll(t, "warning", cfg.Warnings, *tc.Warnings)
			}
			// Compile must agree with Validate.
			_, err = Compile(cfg)
			if (err == nil) != (len(tc.Problems) == 0) {
				t.Fatalf("Compile error = %v, but Validate found %d problems", err, len(tc.Problems))
			}
		})
	}
}

func matchAll(t *testing.T, what string, got []Problem, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(got[i].String(), want[i])
	}
	if !ok {
		var b strings.Builder
		for _, p := range got {
			b.WriteString("\n  " + p.String())
		}
		t.Fatalf("%ss:%s\nwant %d, each containing in order:\n  %s", what, b.String(), len(want), strings.Join(want, "\n  "))
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	cfg, err := Parse([]byte(`{"resources": [{"kind": "x"}, {"kind": ""}]}`), JSON)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Source = "conf.json"
	_, err = Compile(cfg)
	want := "conf.json: 2 problems\n  resources[0].kind: \"x\" is not a Cloud Control type name of the form AWS::Service::Type\n  resources[1].kind: missing: a Cloud Control type such as AWS::Lambda::Function"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestParsedConfigContent(t *testing.T) {
	cfg, err := Parse([]byte(`{"resources": [{"kind": "AWS::ElasticLoadBalancingV2::Listener",
	  "selector": {"query": "true", "aws": {"regions": ["eu-west-1"], "trust_list_properties": true,
	    "regions_config": {"eu-west-1": {"resources_models": ["{\"LoadBalancerArn\": \"arn:lb\"}"]}}}},
	  "port": {"entity": {"mappings": [{"identifier": ".ListenerArn", "title": ".Port | tostring", "blueprint": "listener",
	    "icon": "\"AWS\"", "team": "[\"a\"]", "itemsToParse": ".Certificates",
	    "properties": {"z": ".z", "a": ".a"}, "relations": {"lb": ".LoadBalancerArn"}}]}}}],
	  "deleteDependents": false, "createMissingRelatedEntities": true}`), JSON)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(cfg)
	want := `{"resources":[{"kind":"AWS::ElasticLoadBalancingV2::Listener","selector":{"query":"true","aws":{"regions":["eu-west-1"],` +
		`"regions_config":{"eu-west-1":{"resources_models":["{\"LoadBalancerArn\": \"arn:lb\"}"]}},"trust_list_properties":true}},` +
		`"port":{"entity":{"mappings":[{"identifier":".ListenerArn","title":".Port | tostring","blueprint":"listener","icon":"\"AWS\"",` +
		`"team":"[\"a\"]","properties":{"z":".z","a":".a"},"relations":{"lb":".LoadBalancerArn"},"itemsToParse":".Certificates"}]}}}],` +
		`"deleteDependents":false,"createMissingRelatedEntities":true}`
	if string(got) != want {
		t.Fatalf("parsed config re-encoded:\n%s\nwant:\n%s", got, want)
	}
}

func TestBlueprintName(t *testing.T) {
	cases := []struct {
		value, name string
		ok          bool
	}{
		{"lambda", "lambda", true},
		{`"lambda"`, "lambda", true},
		{`"\"lambda\""`, `\"lambda\`, false}, // only JSON-level quotes are stripped
		{"ecs_service", "ecs_service", true},
		{"my-bp@x", "my-bp@x", true},
		{".Runtime", ".Runtime", false},
		{`if .a then "x" else "y" end`, `if .a then "x" else "y" end`, false},
	}
	for _, tc := range cases {
		name, ok := BlueprintName(tc.value)
		if name != tc.name || ok != tc.ok {
			t.Errorf("BlueprintName(%q) = %q, %v; want %q, %v", tc.value, name, ok, tc.name, tc.ok)
		}
	}
}

func TestPaths(t *testing.T) {
	cases := map[string]string{
		Key("", "resources"):                              "resources",
		Key("a", "b_c"):                                   "a.b_c",
		Key("a", "my prop"):                               `a["my prop"]`,
		Key("a", "eu-west-1"):                             `a["eu-west-1"]`,
		Key("a", "x.y"):                                   `a["x.y"]`,
		MappingPath(2, 0) + ".properties.arn":             "resources[2].port.entity.mappings[0].properties.arn",
		Index(ResourcePath(1)+".selector.aws.regions", 3): "resources[1].selector.aws.regions[3]",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
}
