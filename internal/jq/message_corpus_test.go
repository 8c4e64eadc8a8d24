package jq_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/corpus"
	"sigs.k8s.io/yaml"
)

// messageFields are the fields of a message that hold jq expressions.
var messageFields = []string{"region", "action", "identifier", "resource_identifier", "entity_identifier"}

// TestLegitimateMessageExpressionsCompile loads every message expression
// the project itself produces or documents, from the files, and compiles
// each in the message sandbox: the rule library (its rules' action,
// identifier, resourceIdentifier and entityIdentifier, with identifier
// derived as library.go does, and the region its generators put in every
// InputTemplate), the seed's event rule template, and the messages of
// internal/events' test cases except those meant to fail on their jq.
func TestLegitimateMessageExpressionsCompile(t *testing.T) {
	exprs := map[string]string{} // expression -> where it was found
	add := func(where, expr string) {
		// A blank optional field is absent (internal/events): no expression.
		if strings.TrimSpace(expr) != "" {
			if _, seen := exprs[expr]; !seen {
				exprs[expr] = where
			}
		}
	}

	kinds, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		add(k.Name+" action", k.Rule.Action)
		add(k.Name+" identifier", k.Rule.Identifier)
		add(k.Name+" resourceIdentifier", k.Rule.ResourceIdentifier)
		add(k.Name+" entityIdentifier", k.Rule.EntityIdentifier)
	}
	fromLibrary := len(exprs)
	// The generators' templates carry the region expression too.
	cfn, err := library.CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	collectTemplates(t, "library CloudFormation", cfn, add)

	seed, err := os.ReadFile(corpus.SeedTemplate())
	if err != nil {
		t.Fatal(err)
	}
	collectTemplates(t, "seed template", seed, add)

	files, err := filepath.Glob("../events/testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events test data: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []any
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range cases {
			if m, ok := c.(map[string]any); ok && m["reason"] == "jq_error" {
				continue // a message meant to fail on its jq
			}
			collectMessages(f, c, add)
		}
	}

	// Counted when this test was written: 79 distinct expressions in the
	// 29 kinds' rules, 106 with the region, the seed's and the events cases'.
	if fromLibrary < 79 || len(exprs) < 106 {
		t.Fatalf("found %d expressions (%d from the rule library), expected at least 106 (79)", len(exprs), fromLibrary)
	}
	for expr, where := range exprs {
		if _, err := jq.CompileMessage(expr); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	t.Logf("%d legitimate message expressions compile (%d from the rule library)", len(exprs), fromLibrary)
}

// unquotedPlaceholder is a template value that is a bare <placeholder>.
var unquotedPlaceholder = regexp.MustCompile(`(:\s*)<[A-Za-z0-9_.-]+>`)

// collectTemplates finds every InputTemplate in a YAML or JSON document and
// reads its expression fields.
func collectTemplates(t *testing.T, where string, doc []byte, add func(string, string)) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "InputTemplate" {
					// A placeholder outside quotes (the library's rules) is a
					// JSON value once EventBridge fills it in.
					filled := unquotedPlaceholder.ReplaceAllString(s, "${1}null")
					var msg map[string]any
					if err := json.Unmarshal([]byte(filled), &msg); err != nil {
						t.Errorf("%s: InputTemplate is not JSON: %v", where, err)
						continue
					}
					n++
					collectMessages(where, msg, add)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	if n == 0 {
		t.Fatalf("%s: no InputTemplate", where)
	}
}

// collectMessages reads the expression fields of every message in v: an
// object with resource_type, or a body holding one as JSON text.
func collectMessages(where string, v any, add func(string, string)) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["resource_type"]; ok {
			for _, f := range messageFields {
				if s, ok := v[f].(string); ok {
					add(where+" "+f, s)
				}
			}
		}
		for k, e := range v {
			if k == "want" {
				continue // a decision, not a message
			}
			if s, ok := e.(string); ok && k == "body" && strings.Contains(s, "resource_type") {
				var msg map[string]any
				if json.Unmarshal([]byte(s), &msg) == nil {
					collectMessages(where, msg, add)
				}
				continue
			}
			collectMessages(where, e, add)
		}
	case []any:
		for _, e := range v {
			collectMessages(where, e, add)
		}
	}
}
