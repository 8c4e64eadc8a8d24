package library

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/lint"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// configEvent builds a Config Configuration Item Change event as Config sends
// it (docs: "Monitoring AWS Config with Amazon EventBridge"): the item, or
// for an oversized one only its summary.
func configEvent(t *testing.T, oversized bool, item map[string]any) []byte {
	t.Helper()
	detail := map[string]any{
		"recordVersion": "1.3", "notificationCreationTime": "2026-12-04T18:00:00.000Z",
		"configurationItemDiff": map[string]any{"changedProperties": map[string]any{}, "changeType": "UPDATE"},
	}
	item["configurationItemVersion"] = "1.3"
	item["configurationItemCaptureTime"] = "2026-12-04T17:59:58.000Z"
	item["awsAccountId"] = "123456789012"
	if oversized {
		detail["messageType"] = "OversizedConfigurationItemChangeNotification"
		detail["configurationItemSummary"] = item
	} else {
		detail["messageType"] = "ConfigurationItemChangeNotification"
		item["configuration"] = map[string]any{"note": "the Describe document of the resource"}
		item["relationships"] = []any{}
		detail["configurationItem"] = item
	}
	region, _ := item["awsRegion"].(string)
	if region == "global" {
		region = "us-east-1"
	}
	ev := map[string]any{
		"version": "0", "id": "3f1a0000-0000-0000-0000-000000000001", "detail-type": ConfigDetailType, "source": "aws.config",
		"account": "123456789012", "time": "2026-12-04T18:00:00Z", "region": region, "resources": []any{item["ARN"]}, "detail": detail,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAWSConfigRules(t *testing.T) {
	kinds := allKinds(t)
	cfn, err := ConfigTemplate(kinds)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := template.Parse(cfn, "rules.aws-config.yaml")
	if err != nil {
		t.Fatalf("rules test cannot read the Config template: %v", err)
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{Mapper: libraryMapper(t), DefaultRegion: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	const account = "123456789012"
	cases := []struct {
		name      string
		oversized bool
		item      map[string]any
		match     bool
		action    string
		region    string
		id        string // the Cloud Control identifier the message must name
	}{
		{name: "Lambda function by its name", item: map[string]any{"resourceType": "AWS::Lambda::Function", "resourceId": "orders",
			"resourceName": "orders", "ARN": "arn:aws:lambda:eu-west-1:" + account + ":function:orders", "awsRegion": "eu-west-1",
			"configurationItemStatus": "OK"}, match: true, action: "upsert", region: "eu-west-1", id: "orders"},
		{name: "Lambda function deleted", item: map[string]any{"resourceType": "AWS::Lambda::Function", "resourceId": "orders",
			"resourceName": "orders", "ARN": "arn:aws:lambda:eu-west-1:" + account + ":function:orders", "awsRegion": "eu-west-1",
			"configurationItemStatus": "ResourceDeleted"}, match: true, action: "delete", region: "eu-west-1", id: "orders"},
		{name: "RDS instance: resourceId is db-…, the identifier is the name", item: map[string]any{"resourceType": "AWS::RDS::DBInstance",
			"resourceId": "db-ABCDEFGHIJKLMNOP", "resourceName": "orders-db", "ARN": "arn:aws:rds:eu-west-1:" + account + ":db:orders-db",
			"awsRegion": "eu-west-1", "configurationItemStatus": "OK"}, match: true, action: "upsert", region: "eu-west-1", id: "orders-db"},
		{name: "EC2 instance by its id", item: map[string]any{"resourceType": "AWS::EC2::Instance", "resourceId": "i-0abc1234def567890",
			"ARN": "arn:aws:ec2:us-east-1:" + account + ":instance/i-0abc1234def567890", "awsRegion": "us-east-1",
			"configurationItemStatus": "ResourceDiscovered"}, match: true, action: "upsert", region: "us-east-1", id: "i-0abc1234def567890"},
		{name: "SNS topic by its ARN", item: map[string]any{"resourceType": "AWS::SNS::Topic", "resourceId": "arn:aws:sns:us-east-1:" + account + ":alerts",
			"resourceName": "alerts", "ARN": "arn:aws:sns:us-east-1:" + account + ":alerts", "awsRegion": "us-east-1",
			"configurationItemStatus": "ResourceDeletedNotRecorded"}, match: true, action: "delete", region: "us-east-1", id: "arn:aws:sns:us-east-1:" + account + ":alerts"},
		{name: "IAM role: Config's region is global, the role's name", item: map[string]any{"resourceType": "AWS::IAM::Role",
			"resourceId": "AROAEXAMPLEID1234567", "resourceName": "deployer", "ARN": "arn:aws:iam::" + account + ":role/deployer",
			"awsRegion": "global", "configurationItemStatus": "OK"}, match: true, action: "upsert", region: "us-east-1", id: "deployer"},
		{name: "oversized item: its summary", oversized: true, item: map[string]any{"resourceType": "AWS::S3::Bucket", "resourceId": "big-bucket",
			"resourceName": "big-bucket", "ARN": "arn:aws:s3:::big-bucket", "awsRegion": "eu-central-1",
			"configurationItemStatus": "OK"}, match: true, action: "upsert", region: "eu-central-1", id: "big-bucket"},
		{name: "a type no kind maps", item: map[string]any{"resourceType": "AWS::EC2::Volume", "resourceId": "vol-1", "awsRegion": "us-east-1",
			"configurationItemStatus": "OK"}, match: false},
		{name: "a kind left to CloudTrail (SQS: no queue URL in the item)", item: map[string]any{"resourceType": "AWS::SQS::Queue",
			"resourceId": "https://sqs.us-east-1.amazonaws.com/" + account + "/q", "resourceName": "q", "awsRegion": "us-east-1",
			"configurationItemStatus": "OK"}, match: false},
	}
	if len(cases) < 9 {
		t.Fatalf("only %d cases", len(cases))
	}
	planned := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			report, err := suite.Run(context.Background(), configEvent(t, c.oversized, c.item))
			if err != nil {
				t.Fatal(err)
			}
			if !c.match {
				if len(report.Matches) != 0 {
					t.Fatalf("matched %+v, want nothing", report.Matches)
				}
				return
			}
			if len(report.Matches) != 1 {
				t.Fatalf("matches %+v, want one rule", report.Matches)
			}
			target := report.Matches[0].Targets[0]
			if target.Error != "" || target.Decision == nil {
				t.Fatalf("target error %q for message %s", target.Error, target.Message)
			}
			d := target.Decision
			if d.ResourceType != c.item["resourceType"] || string(d.Action) != c.action || d.Region != c.region || d.Identifier != c.id {
				t.Errorf("decision %+v, want %s %s in %s identifier %s", d, c.item["resourceType"], c.action, c.region, c.id)
			}
			if !strings.Contains(target.Message, `"account_id":".awsAccountId"`) || !strings.Contains(target.Message, `"awsAccountId":"`+account+`"`) {
				t.Errorf("message carries no account: %s", target.Message)
			}
			// Once the resource is gone the exporter deletes the entity the
			// library's mapping names (an ARN for Lambda and RDS: built from
			// the identifier), and nothing else.
			// (The library's config reads the exporter's region, us-east-1,
			// here; other regions' messages are ignored by it.)
			if c.region != "us-east-1" {
				return
			}
			planned++
			if len(target.Exporter) != 2 || target.Exporter[1].Case != "gone" {
				t.Fatalf("exporter plans %+v, want found and gone", target.Exporter)
			}
			if gone := target.Exporter[1]; len(gone.Deletes) != 1 || len(gone.Errors) > 0 {
				t.Errorf("once gone the exporter would delete %v (errors %v), want the one entity", gone.Deletes, gone.Errors)
			}
		})
	}
	if planned < 3 {
		t.Errorf("only %d cases reached the exporter's plan", planned)
	}
}

// Every library kind is either covered by the Config rule, with a field for
// its identifier, or left out with a reason: a new kind must choose.
func TestAWSConfigCoversEveryKindOrSaysWhy(t *testing.T) {
	kinds := allKinds(t)
	covered, left := ConfigCovered(kinds)
	if len(covered)+len(left) != len(kinds) || len(covered) < 20 {
		t.Fatalf("%d covered + %d left of %d kinds", len(covered), len(left), len(kinds))
	}
	for typ, why := range left {
		if _, explained := configUnsupported[typ]; !explained {
			t.Errorf("%s is left out without a reason in configUnsupported (%s)", typ, why)
		}
	}
	for typ := range configIdentifier {
		if !slices.ContainsFunc(kinds, func(k Kind) bool { return k.Type == typ }) {
			t.Errorf("configIdentifier names %s, which is no library kind", typ)
		}
	}
	// The template passes rules lint (placeholders outside quotes; Config's
	// events are not CloudTrail records, so no errorCode exclusion applies).
	cfn, err := ConfigTemplate(kinds)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.aws-config.yaml")
	if err := os.WriteFile(path, cfn, 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := template.ParseFile(path)
	if err != nil || len(rules) != 2 {
		t.Fatalf("read %d rules: %v", len(rules), err)
	}
	report, err := lint.Rules(rules)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Findings) != 0 {
		t.Errorf("rules lint on the Config rules: %+v", report.Findings)
	}
}
