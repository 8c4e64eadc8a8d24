package identity

import (
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

func TestPrimaryIdentifiersAgreeWithTheLibrary(t *testing.T) {
	all, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range all {
		if len(k.PrimaryIdentifier) != 1 {
			if got := PrimaryIdentifier(k.Type); got != "" {
				t.Errorf("%s: compound primary identifier %v in the library, %q here", k.Type, k.PrimaryIdentifier, got)
			}
			continue
		}
		n++
		if got := PrimaryIdentifier(k.Type); got != k.PrimaryIdentifier[0] {
			t.Errorf("%s: primary identifier %q here, %q in the library", k.Type, got, k.PrimaryIdentifier[0])
		}
	}
	if n < 25 {
		t.Fatalf("checked %d kinds, want at least 25", n)
	}
}

func TestDirect(t *testing.T) {
	const acct, region = "123456789012", "eu-west-1"
	cases := []struct {
		kind, expr, entity string
		direct             bool
		want               string
		ok                 bool
	}{
		{"AWS::Lambda::Function", ".FunctionName", "my-fn", true, "my-fn", true},
		{"AWS::Lambda::Function", " .FunctionName ", "my-fn", true, "my-fn", true},
		{"AWS::Lambda::Function", ".Arn", "arn:aws:lambda:eu-west-1:123456789012:function:my-fn", true, "my-fn", true},
		// Another region's or account's ARN is not this shard's resource: no direct proof.
		{"AWS::Lambda::Function", ".Arn", "arn:aws:lambda:us-east-1:123456789012:function:my-fn", true, "", false},
		{"AWS::Lambda::Function", ".Arn", "arn:aws:lambda:eu-west-1:999999999999:function:my-fn", true, "", false},
		// A qualified ARN is not what .Arn yields.
		{"AWS::Lambda::Function", ".Arn", "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:1", true, "", false},
		{"AWS::Lambda::Function", ".Arn", `arn:aws:lambda:eu-west-1:123456789012:function:x","y":"`, true, "", false},
		{"AWS::Lambda::Function", ".FunctionName | ascii_downcase", "", false, "", false},
		{"AWS::Lambda::Function", ".Description", "", false, "", false},
		{"AWS::SQS::Queue", ".QueueName", "", false, "", false},
		{"AWS::SQS::Queue", ".QueueUrl", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", true, "https://sqs.eu-west-1.amazonaws.com/123456789012/q", true},
		{"AWS::RDS::DBInstance", ".DBInstanceArn", "arn:aws:rds:eu-west-1:123456789012:db:main", true, "main", true},
		{"AWS::DynamoDB::Table", ".Arn", "arn:aws-cn:dynamodb:eu-west-1:123456789012:table/orders", true, "orders", true},
		{"AWS::ECS::Service", ".ServiceArn", "", false, "", false},
		{"Custom::Thing::Kind", ".Id", "", false, "", false},
		{"AWS::SNS::Topic", ".TopicName", "alerts", true, "arn:aws:sns:eu-west-1:123456789012:alerts", true},
		{"AWS::SNS::Topic", ".TopicName", "orders.fifo", true, "arn:aws:sns:eu-west-1:123456789012:orders.fifo", true},
		{"AWS::SNS::Topic", ".TopicName", "a:b", true, "", false},
		{"AWS::StepFunctions::StateMachine", ".StateMachineName", "flow", true, "arn:aws:states:eu-west-1:123456789012:stateMachine:flow", true},
	}
	if len(cases) < 19 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		d, ok := Direct(c.kind, c.expr)
		if ok != c.direct {
			t.Errorf("Direct(%s, %q) ok = %v, want %v", c.kind, c.expr, ok, c.direct)
			continue
		}
		if !ok {
			continue
		}
		got, ok := d.CloudControlID(c.entity, region, acct)
		if got != c.want || ok != c.ok {
			t.Errorf("%s %q: CloudControlID(%q) = %q, %v; want %q, %v", c.kind, c.expr, c.entity, got, ok, c.want, c.ok)
		}
	}
}

// TestLibraryMappingsAreDirect keeps docs/ARCHITECTURE.md's claim true: the
// rule library's default mappings are proven by one read, except these,
// whose identifiers are computed or compound and so need a listing.
func TestLibraryMappingsAreDirect(t *testing.T) {
	all, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	listing := map[string]bool{"AWS::AutoScaling::AutoScalingGroup": true, "AWS::Logs::LogGroup": true, "AWS::ECS::Service": true}
	if len(all) < 29 {
		t.Fatalf("%d library kinds, want at least 29", len(all))
	}
	for _, k := range all {
		_, direct := Direct(k.Type, k.Mapping.Port.Entity.Mappings[0].Identifier)
		if direct == listing[k.Type] {
			t.Errorf("%s (identifier %q): direct %v, docs/ARCHITECTURE.md says %v", k.Type, k.Mapping.Port.Entity.Mappings[0].Identifier, direct, !listing[k.Type])
		}
	}
}

// EntityID inverts CloudControlID for every kind the package knows by ARN
// or by name, and refuses identifiers that do not round-trip (a message's
// hostile value names no entity).
func TestEntityIDInvertsCloudControlID(t *testing.T) {
	cases := []struct {
		kind, expr, ccID, region, want string
		ok                             bool
	}{
		{"AWS::Lambda::Function", ".Arn", "orders-api", "eu-west-1", "arn:aws:lambda:eu-west-1:123456789012:function:orders-api", true},
		{"AWS::Lambda::Function", ".Arn", "orders-api", "cn-north-1", "arn:aws-cn:lambda:cn-north-1:123456789012:function:orders-api", true},
		{"AWS::DynamoDB::Table", ".Arn", "orders", "us-east-1", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", true},
		{"AWS::RDS::DBInstance", ".DBInstanceArn", "db-1", "eu-west-1", "arn:aws:rds:eu-west-1:123456789012:db:db-1", true},
		{"AWS::SNS::Topic", ".TopicName", "arn:aws:sns:eu-west-1:123456789012:alerts", "eu-west-1", "alerts", true},
		{"AWS::Lambda::Function", ".FunctionName", "orders-api", "eu-west-1", "orders-api", true},
		// Hostile or foreign values: no entity.
		{"AWS::Lambda::Function", ".Arn", "a:b\"c", "eu-west-1", "", false},
		{"AWS::Lambda::Function", ".Arn", "x:function:y", "eu-west-1", "", false},
		{"AWS::SNS::Topic", ".TopicName", "arn:aws:sns:us-east-1:123456789012:alerts", "eu-west-1", "", false},
		{"AWS::SNS::Topic", ".TopicName", "arn:aws:sns:eu-west-1:999999999999:alerts", "eu-west-1", "", false},
	}
	if len(cases) < 10 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		d, ok := Direct(c.kind, c.expr)
		if !ok {
			t.Fatalf("Direct(%s, %s) = false", c.kind, c.expr)
		}
		got, ok := EntityID(d, c.ccID, c.region, "123456789012")
		if ok != c.ok || got != c.want {
			t.Errorf("EntityID(%s %s, %q, %s) = %q, %v; want %q, %v", c.kind, c.expr, c.ccID, c.region, got, ok, c.want, c.ok)
		}
	}
}

// Every ARN pattern of kinds.yaml is a template EntityID can fill.
func TestEveryARNPatternBuilds(t *testing.T) {
	n := 0
	for kind, spec := range kinds {
		if spec.ARN == nil {
			continue
		}
		n++
		d := fromARN{re: spec.ARN.re}
		if _, ok := EntityID(d, "abc", "eu-west-1", "123456789012"); !ok {
			t.Errorf("%s: EntityID cannot build an ARN from %s", kind, spec.ARN.Pattern)
		}
	}
	if n < 8 {
		t.Fatalf("%d ARN kinds, want at least 8", n)
	}
}

// FuzzEntityID: whatever a message names, a built entity identifier leads
// back to exactly that Cloud Control identifier, in the shard's region and
// account (never another's).
func FuzzEntityID(f *testing.F) {
	for _, s := range []string{"orders-api", "a:b", "arn:aws:sns:eu-west-1:123456789012:alerts", "", "x\"y", "fn:function:z"} {
		f.Add(s, "eu-west-1")
	}
	f.Fuzz(func(t *testing.T, ccID, region string) {
		for _, k := range []struct{ kind, expr string }{
			{"AWS::Lambda::Function", ".Arn"}, {"AWS::DynamoDB::Table", ".Arn"}, {"AWS::SNS::Topic", ".TopicName"}, {"AWS::RDS::DBInstance", ".DBInstanceArn"},
		} {
			d, _ := Direct(k.kind, k.expr)
			id, ok := EntityID(d, ccID, region, "123456789012")
			if !ok {
				continue
			}
			back, ok := d.CloudControlID(id, region, "123456789012")
			if !ok || back != ccID {
				t.Fatalf("%s: EntityID(%q) = %q, which leads back to %q, %v", k.kind, ccID, id, back, ok)
			}
		}
	})
}
