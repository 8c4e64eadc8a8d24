package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

type ruleCase struct {
	Name   string `json:"name"`
	Rules  string `json:"rules"`
	Event  string `json:"event"`
	Config string `json:"config"`
	// DefaultRegion is the exporter's region for entries that name none.
	DefaultRegion string             `json:"default_region"`
	Matches       []string           `json:"matches"`
	Decisions     []*events.Decision `json:"decisions"`
	Message       string             `json:"message"`
	Error         string             `json:"error"`
	Injection     *Injection         `json:"injection"`
	Exporter      []string           `json:"exporter"`
	Text          []string           `json:"text"`
}

func loadCases(t *testing.T) []ruleCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []ruleCase
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("cases.yaml: %v", err)
	}
	return cases
}

// runCase runs one case the way the CLI does.
func runCase(t *testing.T, tc ruleCase) *Report {
	t.Helper()
	rules, err := template.ParseFile(tc.Rules)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{DefaultRegion: tc.DefaultRegion}
	if tc.Config != "" {
		c, err := config.Load(context.Background(), tc.Config, nil)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Mapper, err = mapping.Compile(c); err != nil {
			t.Fatal(err)
		}
	}
	suite, err := Compile(rules, opts)
	if err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile(tc.Event)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := suite.Run(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCases(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			rep := runCase(t, tc)
			var matched []string
			var decisions []*events.Decision
			var exporter []string
			var targets []Target
			for _, m := range rep.Matches {
				matched = append(matched, m.Rule)
				for _, tg := range m.Targets {
					targets = append(targets, tg)
					decisions = append(decisions, tg.Decision)
					for _, p := range tg.Exporter {
						exporter = append(exporter, p.Summary())
					}
				}
			}
			if len(matched) != len(tc.Matches) || (len(matched) > 0 && !reflect.DeepEqual(matched, tc.Matches)) {
				t.Fatalf("matched %q, want %q", matched, tc.Matches)
			}
			if len(tc.Decisions) > 0 && !reflect.DeepEqual(decisions, tc.Decisions) {
				got, _ := json.Marshal(decisions)
				want, _ := json.Marshal(tc.Decisions)
				t.Errorf("decisions\n got: %s\nwant: %s", got, want)
			}
			if tc.Message != "" && (len(targets) == 0 || targets[0].Message != tc.Message) {
				t.Errorf("message\n got: %s\nwant: %s", targets[0].Message, tc.Message)
			}
			if tc.Error != "" && (len(targets) == 0 || !strings.Contains(targets[0].Error, tc.Error)) {
				t.Errorf("target error %q does not contain %q", targets[0].Error, tc.Error)
			}
			var gotInjection *Injection
			if len(targets) > 0 {
				gotInjection = targets[0].Injection
			}
			if !reflect.DeepEqual(gotInjection, tc.Injection) {
				got, _ := json.Marshal(gotInjection)
				want, _ := json.Marshal(tc.Injection)
				t.Errorf("injection\n got: %s\nwant: %s", got, want)
			}
			if tc.Injection != nil && rep.Injections() == 0 {
				t.Error("Injections() = 0 for an injected message")
			}
			if tc.Error == "" && tc.Injection == nil && rep.Problems() != 0 {
				t.Errorf("unexpected problems: %+v", targets)
			}
			if len(tc.Exporter) > 0 && !reflect.DeepEqual(exporter, tc.Exporter) {
				t.Errorf("exporter\n got: %q\nwant: %q", exporter, tc.Exporter)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.Text {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text report lacks %q:\n%s", want, text.String())
				}
			}
			var js bytes.Buffer
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatalf("JSON report does not read back: %v", err)
			}
			if len(back.Matches) != len(rep.Matches) || back.RulesRead != rep.RulesRead {
				t.Errorf("JSON report read back differs: %+v", back)
			}
		})
	}
}

func TestWrapCloudTrail(t *testing.T) {
	record, err := os.ReadFile("testdata/cloudtrail/lambda_DeleteFunction20150331__invictus-ir_aws_dataset.json")
	if err != nil {
		t.Fatal(err)
	}
	event, wrapped, err := PrepareEvent(record)
	if err != nil || !wrapped {
		t.Fatalf("PrepareEvent: wrapped=%v err=%v", wrapped, err)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(event, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"version": `"0"`, "id": `"134ef1d9-d57e-4e3a-955a-b773468afca9"`, "detail-type": `"AWS API Call via CloudTrail"`,
		"source": `"aws.lambda"`, "account": `"123837392027"`, "time": `"2023-07-10T12:28:39Z"`,
		"region": `"us-east-1"`, "resources": `[]`,
	}
	for k, v := range want {
		if string(env[k]) != v {
			t.Errorf("%s = %s, want %s", k, env[k], v)
		}
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, record)
	if !bytes.Equal(env["detail"], compact.Bytes()) {
		t.Error("detail is not the record")
	}
	if !strings.HasPrefix(string(event), `{"version":"0","id":`) {
		t.Errorf("envelope fields not in EventBridge order: %.60s", event)
	}

	// An EventBridge event stays as it is.
	eb, err := os.ReadFile("testdata/seed-createfunction-event.json")
	if err != nil {
		t.Fatal(err)
	}
	same, wrapped, err := PrepareEvent(eb)
	if err != nil || wrapped || !bytes.Equal(same, bytes.TrimSpace(eb)) {
		t.Errorf("EventBridge event changed: wrapped=%v err=%v", wrapped, err)
	}
	for _, bad := range []string{`[]`, `null`, `{"eventName": "X"}`} {
		if _, _, err := PrepareEvent([]byte(bad)); err == nil {
			t.Errorf("PrepareEvent(%s) gave no error", bad)
		}
	}
}

func TestCompileErrorsNameRuleAndPlace(t *testing.T) {
	rules, err := template.Parse([]byte(`[
	 {"name": "bad-pattern", "eventPattern": {"detail": {"eventName": ["x", {"prefixx": "Create"}]}}},
	 {"name": "bad-template", "eventPattern": {"source": ["a"]},
	  "targets": [{"id": "q", "inputTransformer": {"inputPathsMap": {"a": "$.source"}, "inputTemplate": "{\"a\": \"<b>\"}"}}]}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(rules, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`rule bad-pattern (rules.json): EventPattern: detail.eventName[1]: unknown operator "prefixx"`,
		`rule bad-template (rules.json): target q: InputTransformer: InputTemplate line 1, column 8: placeholder <b> is not defined in InputPathsMap`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Compile(nil, Options{}); err == nil {
		t.Error("no rules gave no error")
	}
}

func TestRenderErrorIsReported(t *testing.T) {
	rules, err := template.Parse([]byte(`[{"name": "quotes", "eventPattern": {"source": ["aws.lambda"]},
	  "targets": [{"id": "q", "inputTransformer": {"inputPathsMap": {"d": "$.detail.description"},
	  "inputTemplate": "{\"resource_type\": \"AWS::Lambda::Function\", \"region\": \"\\\"us-east-1\\\"\", \"identifier\": \"\\\"<d>\\\"\"}"}}]}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	suite, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := suite.Run(context.Background(), []byte(`{"detail-type": "x", "source": "aws.lambda", "detail": {"description": "say \"hi\""}}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problems() != 1 {
		t.Fatalf("problems = %d, want 1: %+v", rep.Problems(), rep.Matches)
	}
	got := rep.Matches[0].Targets[0]
	if !strings.Contains(got.Error, `rule "quotes": input template produced invalid JSON`) || !strings.Contains(got.Error, "<d>") {
		t.Errorf("error = %q", got.Error)
	}
	if !strings.Contains(got.Message, `say "hi"`) {
		t.Errorf("message should show the broken output, got %q", got.Message)
	}
}

func TestRuleLevelWarnings(t *testing.T) {
	rules, err := template.Parse([]byte(`[
	 {"name": "off", "state": "DISABLED", "eventPattern": {"source": ["aws.lambda"]}},
	 {"name": "custom-bus", "eventBusName": "orders", "eventPattern": {"source": ["aws.lambda"]},
	  "targets": [{"id": "q", "arn": "arn:aws:sqs:us-east-1:1:q"}]}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	suite, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := suite.Run(context.Background(), []byte(`{"detail-type": "x", "source": "aws.lambda", "region": "us-east-1", "detail": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matches) != 2 {
		t.Fatalf("matches = %+v", rep.Matches)
	}
	want := [][]string{
		{"the rule is DISABLED: EventBridge would deliver nothing", "the rule has no targets: nothing would be sent"},
		{`the rule is on event bus "orders", but AWS services send their events (aws.lambda) to the default bus`},
	}
	for i, m := range rep.Matches {
		if !reflect.DeepEqual(m.Warnings, want[i]) {
			t.Errorf("%s warnings = %q, want %q", m.Rule, m.Warnings, want[i])
		}
	}
	// Without a transformer the target receives the event itself, which
	// is not the exporter's message contract.
	if tg := rep.Matches[1].Targets[0]; !strings.Contains(tg.Error, "missing_field") || !strings.Contains(tg.Message, `"source":"aws.lambda"`) {
		t.Errorf("target = %+v", tg)
	}
}

func TestTargetInputsAreExclusive(t *testing.T) {
	rules, err := template.Parse([]byte(`[{"name": "both", "eventPattern": {"source": ["a"]},
	  "targets": [{"id": "q", "input": "{}", "inputPath": "$.detail"}]}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(rules, Options{})
	if err == nil || !strings.Contains(err.Error(), "rule both (rules.json): target q: Input, InputPath and InputTransformer are mutually exclusive, 2 are set") {
		t.Errorf("err = %v", err)
	}
}

func TestInputAndInputPathTargets(t *testing.T) {
	rules, err := template.Parse([]byte(`[{"name": "r", "eventPattern": {"source": ["aws.lambda"]},
	  "targets": [{"id": "constant", "input": "{\"resource_type\": \"AWS::Lambda::Function\", \"region\": \"\\\"us-east-1\\\"\", \"identifier\": \"\\\"f\\\"\"}"},
	              {"id": "path", "inputPath": "$.detail"}]}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	suite, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := suite.Run(context.Background(), []byte(`{"detail-type": "x", "source": "aws.lambda", "detail": {"resource_type": "AWS::S3::Bucket", "region": "\"eu-west-1\"", "identifier": "\"b\""}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Matches[0].Targets
	if got[0].Decision == nil || got[0].Decision.Identifier != "f" || got[0].Decision.Region != "us-east-1" {
		t.Errorf("constant input: %+v", got[0])
	}
	if got[1].Decision == nil || got[1].Decision.ResourceType != "AWS::S3::Bucket" || got[1].Decision.Identifier != "b" || got[1].Message != `{"resource_type":"AWS::S3::Bucket","region":"\"eu-west-1\"","identifier":"\"b\""}` {
		t.Errorf("input path: %+v", got[1])
	}
}
