package library

import (
	"context"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// TestAWSConfigAttacks feeds the Config rules hostile configuration items:
// names a resource's owner chose with quotes, backslashes and JSON that
// would add keys if EventBridge inserted them unescaped, unexpected
// statuses, and oversized summaries missing fields. The message must name
// the resource exactly, never turn into a delete, and never delete on an
// identifier it does not have.
func TestAWSConfigAttacks(t *testing.T) {
	cfn, err := ConfigTemplate(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := template.Parse(cfn, "rules.aws-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{Mapper: libraryMapper(t), DefaultRegion: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	const account = "123456789012"
	lambda := func(name, status string) map[string]any {
		return map[string]any{"resourceType": "AWS::Lambda::Function", "resourceId": name, "resourceName": name,
			"ARN": "arn:aws:lambda:us-east-1:" + account + ":function:" + name, "awsRegion": "us-east-1", "configurationItemStatus": status}
	}
	cases := []struct {
		name      string
		oversized bool
		item      map[string]any
		action    string // "" : no decision (refused), else the decision's action
		id        string
	}{
		{name: "quote and backslash in the name", item: lambda(`a"b\c`, "OK"), action: "upsert", id: `a"b\c`},
		{name: "a name that closes the string and adds a delete", item: lambda(`x", "action": "delete", "y": "`, "OK"), action: "upsert", id: `x", "action": "delete", "y": "`},
		{name: "a name that is a jq expression", item: lambda(`" + (.status) + "`, "OK"), action: "upsert", id: `" + (.status) + "`},
		{name: "unicode and control characters in the name", item: lambda("fn\u2028\u0000\u00e9", "OK"), action: "upsert", id: "fn\u2028\u0000\u00e9"},
		{name: "status ResourceNotRecorded is no delete", item: lambda("orders", "ResourceNotRecorded"), action: "upsert", id: "orders"},
		{name: "an unknown status is no delete", item: lambda("orders", "ResourceDeleted\"x"), action: "upsert", id: "orders"},
		{name: "status in another case is no delete", item: lambda("orders", "resourcedeleted"), action: "upsert", id: "orders"},
		{name: "oversized summary without resourceName, deleted", oversized: true, item: map[string]any{"resourceType": "AWS::Lambda::Function",
			"resourceId": "orders", "awsRegion": "us-east-1", "configurationItemStatus": "ResourceDeleted"}},
		{name: "oversized summary without ARN, deleted (SNS)", oversized: true, item: map[string]any{"resourceType": "AWS::SNS::Topic",
			"resourceName": "alerts", "awsRegion": "us-east-1", "configurationItemStatus": "ResourceDeleted"}},
		{name: "oversized summary without region", oversized: true, item: map[string]any{"resourceType": "AWS::Lambda::Function",
			"resourceId": "orders", "resourceName": "orders", "configurationItemStatus": "ResourceDeleted"}},
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			report, err := suite.Run(context.Background(), configEvent(t, c.oversized, c.item))
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Matches) != 1 {
				t.Fatalf("matches %+v, want one rule", report.Matches)
			}
			target := report.Matches[0].Targets[0]
			d := target.Decision
			t.Logf("error %q; decision %+v; exporter %+v", target.Error, d, target.Exporter)
			if c.action == "" {
				if d != nil && d.Identifier != "" {
					t.Errorf("decision %+v, want the message refused or naming nothing", d)
				}
				for _, p := range target.Exporter {
					if len(p.Deletes) > 0 {
						t.Errorf("case %s would delete %v", p.Case, p.Deletes)
					}
				}
				return
			}
			if target.Error != "" || d == nil {
				t.Fatalf("target error %q for message %s", target.Error, target.Message)
			}
			if string(d.Action) != c.action || d.Identifier != c.id {
				t.Errorf("decision %s %q, want %s %q", d.Action, d.Identifier, c.action, c.id)
			}
		})
	}
}
