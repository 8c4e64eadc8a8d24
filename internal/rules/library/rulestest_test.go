package library

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// The generated CloudFormation and config.json, read back the way
// `port-aws-exporter rules test --rules ... --config ...` reads a user's files,
// route every documented event to its kind's rule, config entry and blueprint.
func TestGeneratedFilesWorkWithRulesTest(t *testing.T) {
	kinds := allKinds(t)
	cfn, err := CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := template.Parse(cfn, "port-aws-exporter-rules.yaml")
	if err != nil {
		t.Fatalf("rules test cannot read the generated template: %v", err)
	}
	if len(rules) != len(kinds) {
		t.Fatalf("read %d rules, generated %d", len(rules), len(kinds))
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{Mapper: libraryMapper(t), DefaultRegion: "us-east-1"})
	if err != nil {
		t.Fatalf("rules test cannot compile the generated rules: %v", err)
	}
	byName := map[string]Kind{}
	for _, k := range kinds {
		byName[k.Name] = k
	}
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documented events: %v", err)
	}
	for _, file := range files {
		k := byName[filepath.Base(filepath.Dir(file))]
		t.Run(k.Name+"/"+strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c documentedCase
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			report, err := suite.Run(context.Background(), c.Event)
			if err != nil {
				t.Fatal(err)
			}
			if c.Want.Match != nil && !*c.Want.Match {
				if len(report.Matches) != 0 {
					t.Errorf("matched %+v, want nothing", report.Matches)
				}
				return
			}
			if len(report.Matches) != 1 || report.Matches[0].LogicalID != k.LogicalID() {
				t.Fatalf("matches %+v, want only %s", report.Matches, k.LogicalID())
			}
			target := report.Matches[0].Targets[0]
			if target.Error != "" || target.Decision == nil {
				t.Fatalf("target error %q for message %s", target.Error, target.Message)
			}
			// The real plan, once the resource is gone: the library's rule
			// and mapping agree, so its message deletes the entity of the
			// kind's blueprint that the mapping names, and nothing else.
			if len(target.Exporter) != 2 || target.Exporter[1].Case != "gone" {
				t.Fatalf("exporter plans %+v, want found and gone", target.Exporter)
			}
			gone := target.Exporter[1]
			want := k.Blueprint.Identifier + "/" + target.Decision.DeleteIdentifier()
			if !slices.Equal(gone.Deletes, []string{want}) || len(gone.Errors) > 0 {
				t.Errorf("once gone the exporter would delete %v (errors %v), want [%s]", gone.Deletes, gone.Errors, want)
			}
			if string(target.Decision.Action) != c.Want.Action {
				t.Errorf("action %s, want %s", target.Decision.Action, c.Want.Action)
			}
			for _, w := range target.Warnings {
				if strings.Contains(w, "name it differently") {
					t.Errorf("the library's rule and mapping disagree: %s", w)
				}
			}
		})
	}
}
