package ruletest

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// A rule whose delete names a Lambda function by its name, with the pattern
// written three ways the finder must read: literal event names, an $or of
// alternatives, and a prefix matcher (as the seed's template has).
const literalNamesRule = `Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.lambda]
        detail-type: [AWS API Call via CloudTrail]
        detail:
          eventName: [CreateFunction20150331, DeleteFunction20150331]
          errorCode: [{exists: false}]
      Targets:
        - Id: q
          Arn: arn:aws:sqs:us-east-1:123456789012:q
          InputTransformer:
            InputPathsMap:
              name: $.detail.requestParameters.functionName
              event: $.detail.eventName
              region: $.detail.awsRegion
            InputTemplate: |-
              {"resource_type": "AWS::Lambda::Function", "awsRegion": <region>, "region": ".awsRegion", "functionName": <name>, "identifier": ".functionName",
               "eventName": <event>, "action": "if .eventName | startswith(\"Delete\") then \"delete\" else \"upsert\" end"}
`

const orRule = `Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.lambda]
        $or:
          - detail: {eventName: [CreateFunction20150331]}
          - detail: {eventName: [{prefix: DeleteFunction}], errorCode: [{exists: false}]}
      Targets:
        - Id: q
          Arn: arn:aws:sqs:us-east-1:123456789012:q
          InputTransformer:
            InputPathsMap:
              name: $.detail.requestParameters.functionName
              event: $.detail.eventName
            InputTemplate: |-
              {"resource_type": "AWS::Lambda::Function", "region": "\"us-east-1\"", "functionName": <name>, "identifier": ".functionName",
               "eventName": <event>, "action": "if .eventName | startswith(\"Delete\") then \"delete\" else \"upsert\" end"}
`

// A rule that never deletes: nothing to disagree about.
const upsertOnlyRule = `Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.lambda]
        detail: {eventName: [DeleteFunction20150331]}
      Targets:
        - Id: q
          Arn: arn:aws:sqs:us-east-1:123456789012:q
          InputTransformer:
            InputPathsMap: {name: $.detail.requestParameters.functionName}
            InputTemplate: '{"resource_type": "AWS::Lambda::Function", "region": "\"us-east-1\"", "functionName": <name>, "identifier": ".functionName", "action": "\"upsert\""}'
`

func TestDisagreements(t *testing.T) {
	seed, err := os.ReadFile("../lint/testdata/seed-event-rule-template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	library, err := os.ReadFile("testdata/library-lambda-function.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, rules, config string
		want                int    // findings
		wantEvent           string // the event name of the first finding
	}{
		{"seed template, computed identifier", string(seed), "config-lambda-computed-identifier.json", 1, "DeleteFunction"},
		{"seed template, ARN identifier (derivable)", string(seed), "config-lambda-arn.json", 0, ""},
		{"seed template, the rule test config", string(seed), "config.json", 0, ""},
		{"library rule sends entity_identifier", string(library), "config-lambda-computed-identifier.json", 0, ""},
		{"literal event names", literalNamesRule, "config-lambda-computed-identifier.json", 1, "DeleteFunction20150331"},
		{"literal event names, ARN identifier", literalNamesRule, "config-lambda-arn.json", 0, ""},
		{"$or with a prefix", orRule, "config-lambda-computed-identifier.json", 1, "DeleteFunction"},
		{"no delete", upsertOnlyRule, "config-lambda-computed-identifier.json", 0, ""},
		{"kind the config does not map", literalNamesRule, "config-s3-only.yaml", 0, ""},
	}
	if len(cases) < 9 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := template.Parse([]byte(c.rules), "rules.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(context.Background(), "testdata/"+c.config, nil)
			if err != nil {
				t.Fatal(err)
			}
			mapper, err := mapping.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			suite, err := Compile(rules, Options{Mapper: mapper})
			if err != nil {
				t.Fatal(err)
			}
			found, err := suite.Disagreements(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != c.want {
				t.Fatalf("%d findings, want %d: %+v", len(found), c.want, found)
			}
			if c.want == 0 {
				return
			}
			f := found[0]
			if f.EventName != c.wantEvent || f.Target == "" || !strings.Contains(f.Message, "reach no entity") || !strings.Contains(f.Fix, ".FunctionName") {
				t.Errorf("finding: %+v", f)
			}
			if strings.Contains(f.Message, "sample") {
				t.Errorf("the message shows a made-up value: %s", f.Message)
			}
		})
	}
}

func TestSampleEventsBounded(t *testing.T) {
	var names []string
	for i := 0; i < 1000; i++ {
		names = append(names, `"Delete`+strings.Repeat("x", i%7)+`"`)
	}
	pattern := `{"detail": {"eventName": [` + strings.Join(names, ",") + `]}}`
	samples, err := sampleEvents([]byte(pattern), []string{"$.detail.requestParameters.name", "$.detail.items[0].id"})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != maxSamples {
		t.Fatalf("%d samples, want the bound %d", len(samples), maxSamples)
	}
	if !strings.Contains(string(samples[0].event), `"name":"sample-name"`) || strings.Contains(string(samples[0].event), "items") {
		t.Errorf("input paths: %s", samples[0].event)
	}
}

// FuzzSampleEvents: any pattern gives at most maxSamples events, each a JSON
// object with a detail object, and every plain input path the pattern leaves
// open is set.
func FuzzSampleEvents(f *testing.F) {
	f.Add(`{"detail": {"eventName": ["DeleteFunction20150331", {"prefix": "Delete"}], "errorCode": [{"exists": false}]}}`)
	f.Add(`{"$or": [{"detail": {"eventName": ["A"]}}, {"source": [{"anything-but": "x"}]}]}`)
	f.Add(`{"detail": {"requestParameters": {"name": [{"wildcard": "a*b"}]}}}`)
	f.Fuzz(func(t *testing.T, pattern string) {
		samples, err := sampleEvents([]byte(pattern), []string{"$.detail.requestParameters.functionName"})
		if err != nil {
			return
		}
		if len(samples) > maxSamples {
			t.Fatalf("%d samples", len(samples))
		}
		for _, s := range samples {
			var ev map[string]any
			if err := json.Unmarshal(s.event, &ev); err != nil {
				t.Fatalf("sample is not JSON: %v: %s", err, s.event)
			}
			detail, ok := ev["detail"].(map[string]any)
			if !ok {
				continue // the pattern set detail to a value of another type
			}
			if rp, ok := detail["requestParameters"].(map[string]any); ok {
				if _, ok := rp["functionName"]; !ok {
					t.Fatalf("open input path not set: %s", s.event)
				}
			}
		}
	})
}
