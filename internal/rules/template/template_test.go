package template

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type templateCase struct {
	Name   string          `json:"name"`
	File   string          `json:"file"`
	Source string          `json:"source"`
	Rules  json.RawMessage `json:"rules"`
	// RulesJSON is the expectation as JSON text, for numbers YAML would rewrite.
	RulesJSON string `json:"rules_json"`
	Error     string `json:"error"`
}

// ruleView is the JSON a case's expected rules are compared with.
type ruleView struct {
	LogicalID    string          `json:"logicalId,omitempty"`
	Name         *Value          `json:"name,omitempty"`
	EventBusName *Value          `json:"eventBusName,omitempty"`
	State        *Value          `json:"state,omitempty"`
	Line         int             `json:"line,omitempty"`
	EventPattern json.RawMessage `json:"eventPattern"`
	Targets      []targetView    `json:"targets,omitempty"`
}

type targetView struct {
	ID            string            `json:"id"`
	Arn           *Value            `json:"arn,omitempty"`
	Input         string            `json:"input,omitempty"`
	InputPath     string            `json:"inputPath,omitempty"`
	InputPathsMap map[string]string `json:"inputPathsMap,omitempty"`
	InputTemplate string            `json:"inputTemplate,omitempty"`
}

func optional(v Value) *Value {
	if v.IsZero() {
		return nil
	}
	return &v
}

func view(rules []Rule) []ruleView {
	out := []ruleView{}
	for _, r := range rules {
		rv := ruleView{LogicalID: r.LogicalID, Name: optional(r.Name), EventBusName: optional(r.EventBusName),
			State: optional(r.State), EventPattern: r.EventPattern}
		if r.LogicalID != "" {
			rv.Line = r.Line
		}
		for _, t := range r.Targets {
			tv := targetView{ID: t.ID, Arn: optional(t.Arn), Input: t.Input, InputPath: t.InputPath}
			if t.InputTransformer != nil {
				tv.InputPathsMap, tv.InputTemplate = t.InputTransformer.InputPathsMap, t.InputTransformer.InputTemplate
			}
			rv.Targets = append(rv.Targets, tv)
		}
		out = append(out, rv)
	}
	return out
}

// canonical re-encodes JSON so that key order and spacing do not matter,
// while number text is kept.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestCases(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []templateCase
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("cases.yaml: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var rules []Rule
			var err error
			if tc.File != "" {
				rules, err = ParseFile(filepath.Join("testdata", tc.File))
			} else {
				rules, err = Parse([]byte(tc.Source), "rules.yaml")
			}
			if tc.Error != "" {
				if err == nil {
					t.Fatalf("read %d rules, want error containing %q", len(rules), tc.Error)
				}
				if !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("error %q does not contain %q", err, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(view(rules))
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(tc.Rules)
			if tc.RulesJSON != "" {
				want = []byte(tc.RulesJSON)
			}
			if g, w := canonical(t, got), canonical(t, want); g != w {
				t.Errorf("rules\n got: %s\nwant: %s", g, w)
			}
		})
	}
}

// testdata/seed-event-rule-template.yaml is kept equal to the seed's
// template by internal/testbed/corpus's tests.

func TestRuleLabel(t *testing.T) {
	rules, err := ParseFile("testdata/seed-event-rule-template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := rules[0].Label(); got != "EventRule0 (port-aws-exporter-sync-lambda-trails)" {
		t.Errorf("Label() = %q", got)
	}
}
