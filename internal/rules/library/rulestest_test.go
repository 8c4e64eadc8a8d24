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
			if len(target.Exporter) != 1 {
				t.Fatalf("exporter actions %+v, want one", target.Exporter)
			}
			a := target.Exporter[0]
			if a.Kind != k.Type || !slices.Equal(a.Blueprints, []string{k.Blueprint.Identifier}) || a.Operation != c.Want.Action {
				t.Errorf("exporter would %s %v of %s, want %s %s of %s", a.Operation, a.Blueprints, a.Kind, c.Want.Action, k.Blueprint.Identifier, k.Type)
			}
		})
	}
}
