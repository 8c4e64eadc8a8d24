package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/itchyny/gojq"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

const (
	stackTemplatePath = "cloudformation/template.yaml"
	seedTemplatePath  = "testdata/seed-event-rule-template.yaml"
)

// cloudFormationTemplates are every template the project ships or relies on.
var cloudFormationTemplates = []string{stackTemplatePath, seedTemplatePath}

func TestCloudFormationTemplatesPassCfnLint(t *testing.T) {
	cfnLint := findTool(t, "cfn-lint", "CFN_LINT")
	// What `rules generate` writes for every kind is deployed beside the stack.
	kinds, err := library.Select([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	generated, err := library.CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	generatedPath := filepath.Join(t.TempDir(), "generated-rules.yaml")
	if err := os.WriteFile(generatedPath, generated, 0o644); err != nil {
		t.Fatal(err)
	}
	// And the member-account template (rules generate --member-accounts).
	member, err := library.MemberTemplate(kinds, true)
	if err != nil {
		t.Fatal(err)
	}
	memberPath := filepath.Join(t.TempDir(), "generated-rules.member-account.yaml")
	if err := os.WriteFile(memberPath, member, 0o644); err != nil {
		t.Fatal(err)
	}
	// And the AWS Config rules (rules generate --aws-config).
	configRules, err := library.ConfigTemplate(kinds)
	if err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(t.TempDir(), "generated-rules.aws-config.yaml")
	if err := os.WriteFile(configPath, configRules, 0o644); err != nil {
		t.Fatal(err)
	}
	// One run for all templates: each cfn-lint start costs seconds of Python
	// imports. It exits non-zero on errors and on warnings; informational
	// findings (I...) are not counted.
	paths := append(slices.Clone(cloudFormationTemplates), generatedPath, memberPath, configPath)
	out, err := exec.Command(cfnLint, append([]string{"--format", "parseable", "--"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint %v: %v\n%s", paths, err, out)
	}
}

// readTemplate parses a CloudFormation template written with long-form
// intrinsic functions (our own and the seed's) into generic JSON values.
func readTemplate(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	jsonDoc, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(jsonDoc, &tmpl); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return tmpl
}

// contractCase is one record of testdata/stack-contract.yaml: a jq query over
// the stack template and the value it must produce.
type contractCase struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Want  any    `json:"want"`
}

// TestStackTemplateContract checks what the binary, users' event-rule stacks
// and in-place upgrades of Port's stack rely on, one record per promise.
func TestStackTemplateContract(t *testing.T) {
	tmpl := readTemplate(t, stackTemplatePath)
	raw, err := os.ReadFile("testdata/stack-contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []contractCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("testdata/stack-contract.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/stack-contract.yaml holds no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			q, err := gojq.Parse(tc.Query)
			if err != nil {
				t.Fatalf("query %q: %v", tc.Query, err)
			}
			iter := q.Run(tmpl)
			got, ok := iter.Next()
			if !ok {
				t.Fatalf("query %q produced nothing", tc.Query)
			}
			if err, isErr := got.(error); isErr {
				t.Fatalf("query %q: %v", tc.Query, err)
			}
			// Compare through JSON so numbers and nested values compare alike.
			if !jsonEqual(t, got, tc.Want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.Want)
				t.Errorf("query %q\n got: %s\nwant: %s", tc.Query, g, w)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		buf, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(buf, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// motoCloudFormationTypes are the resource types of our stack that moto 5.2.1's
// CloudFormation can create (moto/cloudformation/parsing.py model map). It has
// no model for AWS::SecretsManager::Secret, AWS::SQS::QueuePolicy,
// AWS::S3::BucketPolicy, AWS::CloudWatch::Alarm or AWS::CloudWatch::Dashboard; docs/install.md lists what
// the tests leave out.
var motoCloudFormationTypes = []string{
	"AWS::SQS::Queue",
	"AWS::S3::Bucket",
	"AWS::Logs::LogGroup",
	"AWS::IAM::Role",
	"AWS::Lambda::Function",
	"AWS::Lambda::EventSourceMapping",
	"AWS::Lambda::Permission",
	"AWS::Events::Rule",
}

// TestStackDeploysIntoMotoAndSeedRulesImportItsQueue deploys the moto-supported
// part of the real stack into moto's CloudFormation, then the seed's event-rule
// template (verbatim) and the rules generator's template for every kind against
// it, and follows an event from the default bus into the exporter's queue.
func TestStackDeploysIntoMotoAndSeedRulesImportItsQueue(t *testing.T) {
	server := moto.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := server.AWSConfig(ctx, "us-east-1")
	cfn := cloudformation.NewFromConfig(cfg)
	sqsClient := sqs.NewFromConfig(cfg)

	const stackName = "port-exporter-under-test" // not the seed's default, so the parameter must carry it
	const bucket = "port-exporter-config-under-test"
	params := map[string]string{
		"BucketName":   bucket,
		"CodeS3Bucket": "port-exporter-code-under-test",
	}
	// With the secret created by the stack, which moto cannot create, the
	// role and everything that needs it are left out here;
	// TestStackFunctionWiringInMoto deploys them with a secret of the user's.
	sub, dropped, err := motoSubTemplate(readTemplate(t, stackTemplatePath), motoCloudFormationTypes, params)
	if err != nil {
		t.Fatal(err)
	}
	wantDropped := []string{
		"ConfigBucketPolicy", "Dashboard", "DeadLetterQueueAlarm", "DeadLetterQueuePolicy", "EventBridgeToToSqsPolicy", "EventsFailedAlarm",
		"EventsQueueAgeAlarm", "LambdaFunction", "LambdaFunctionRole", "LambdaFunctionSchedule", "LambdaFunctionSchedulePermission",
		"PortCredentialsSecret", "SQSToLambdaEventSourceMapping", "SyncDurationAlarm",
	}
	// Keeps docs/install.md's list of what moto cannot create honest.
	if !slices.Equal(dropped, wantDropped) {
		t.Fatalf("resources left out of the moto deployment = %v, want %v (update docs/install.md)", dropped, wantDropped)
	}
	body, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}

	outputs := createStack(ctx, t, cfn, stackName, string(body), params)

	queueURL, queueARN := outputs["EventsQueueURL"], outputs["EventsQueueARN"]
	attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes %s: %v", queueURL, err)
	}
	if got := attrs.Attributes["QueueArn"]; got != queueARN || queueARN == "" {
		t.Errorf("output EventsQueueARN = %q, queue's ARN = %q", queueARN, got)
	}
	if got := attrs.Attributes["VisibilityTimeout"]; got != "900" {
		t.Errorf("events queue VisibilityTimeout = %s, want 900 (the function timeout)", got)
	}
	var redrive struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("events queue RedrivePolicy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	if redrive.DeadLetterTargetArn != outputs["DeadLetterQueueARN"] || fmt.Sprint(redrive.MaxReceiveCount) != "3" {
		t.Errorf("RedrivePolicy = %+v, want the dead-letter queue %s after 3 receives", redrive, outputs["DeadLetterQueueARN"])
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("config bucket %s was not created: %v", bucket, err)
	}
	if got, want := outputs["ConfigObjectURI"], "s3://"+bucket+"/config.json"; got != want {
		t.Errorf("ConfigObjectURI = %q, want %q", got, want)
	}

	exports, err := cfn.ListExports(ctx, &cloudformation.ListExportsInput{})
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]string{}
	for _, e := range exports.Exports {
		exported[aws.ToString(e.Name)] = aws.ToString(e.Value)
	}
	if got := exported[stackName+"-EventsQueueARN"]; got != queueARN {
		t.Fatalf("export %s-EventsQueueARN = %q, want the queue ARN %q (exports: %v)", stackName, got, queueARN, exported)
	}

	seed, err := os.ReadFile(seedTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	createStack(ctx, t, cfn, "port-exporter-seed-rules", string(seed), map[string]string{
		"PortAWSExporterStackName": stackName,
	})

	events := eventbridge.NewFromConfig(cfg)
	targets, err := events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{
		Rule: aws.String("port-aws-exporter-sync-lambda-trails"),
	})
	if err != nil {
		t.Fatalf("ListTargetsByRule: %v", err)
	}
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != queueARN {
		t.Fatalf("seed rule targets = %s, want one target %s", describeTargets(targets.Targets), queueARN)
	}

	// The rules generator's template for every kind resolves the same import.
	kinds, err := library.Select([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	generated, err := library.CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	createStack(ctx, t, cfn, "port-exporter-generated-rules", string(generated), map[string]string{
		"PortAWSExporterStackName": stackName,
	})
	for _, k := range kinds {
		targets, err := events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(k.RuleName())})
		if err != nil {
			t.Errorf("ListTargetsByRule %s: %v", k.RuleName(), err)
			continue
		}
		if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != queueARN {
			t.Errorf("generated rule %s targets = %s, want one target %s", k.RuleName(), describeTargets(targets.Targets), queueARN)
		}
	}

	// moto's InputTransformer inserts values raw, also outside quotes, where
	// EventBridge inserts a string JSON-quoted, so it cannot render the
	// generated templates (every value from the event is unquoted, against
	// injection; internal/rules/transform renders them as EventBridge does):
	// the generated Lambda rule's target is replaced by the same queue
	// without a transformer, which delivers the event itself and still
	// proves that the generated pattern matches and the target resolves.
	for _, k := range kinds {
		if k.Name != "lambda-function" {
			continue
		}
		if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule:    aws.String(k.RuleName()),
			Targets: []ebtypes.Target{{Id: aws.String(library.TargetID), Arn: aws.String(queueARN)}},
		}); err != nil {
			t.Fatalf("PutTargets %s without transformer: %v", k.RuleName(), err)
		}
	}

	// An API call event on the default bus reaches the exporter's queue.
	detail := `{"eventSource":"lambda.amazonaws.com","eventName":"CreateFunction20150331","awsRegion":"us-east-1",` +
		`"requestParameters":{"functionName":"orders-api"},"responseElements":{"functionName":"orders-api"}}`
	put, err := events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source:       aws.String("aws.lambda"),
		DetailType:   aws.String("AWS API Call via CloudTrail"),
		Detail:       aws.String(detail),
		EventBusName: aws.String("default"),
	}}})
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	if put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %d failed entries", put.FailedEntryCount)
	}
	// Two rules match it: the seed's and the generated one for Lambda functions.
	var bodies []string
	for attempt := 0; attempt < 3 && len(bodies) < 2; attempt++ {
		msg, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), WaitTimeSeconds: 1, MaxNumberOfMessages: 10,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range msg.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	lambdaEvent := regexp.MustCompile(`"resource_type":\s*"AWS::Lambda::Function"`)
	rawEvent := regexp.MustCompile(`"source":\s*"aws.lambda"`)
	if len(bodies) != 2 {
		t.Fatalf("events queue received %d messages, want 2 (seed rule and generated rule): %q", len(bodies), bodies)
	}
	var transformed, whole int
	for _, b := range bodies {
		switch {
		case !strings.Contains(b, "orders-api"):
			t.Errorf("queued message is not about orders-api: %s", b)
		case lambdaEvent.MatchString(b):
			transformed++ // the seed's rule
		case rawEvent.MatchString(b):
			whole++ // the generated rule, re-targeted without transformer
		}
	}
	if transformed != 1 || whole != 1 {
		t.Errorf("want one transformed message (seed rule) and one whole event (generated rule): %q", bodies)
	}
}

// createStack creates a stack, waits for it and returns its outputs.
func createStack(ctx context.Context, t *testing.T, cfn *cloudformation.Client, name, body string, params map[string]string) map[string]string {
	t.Helper()
	var parameters []cfntypes.Parameter
	for k, v := range params {
		parameters = append(parameters, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(name),
		TemplateBody: aws.String(body),
		Parameters:   parameters,
	}); err != nil {
		t.Fatalf("CreateStack %s: %v", name, err)
	}
	waiter := cloudformation.NewStackCreateCompleteWaiter(cfn, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	out, err := waiter.WaitForOutput(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("stack %s did not reach CREATE_COMPLETE: %v%s", name, err, stackEvents(ctx, cfn, name))
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs
}

// stackEvents renders a stack's failure events for a test failure message.
func stackEvents(ctx context.Context, cfn *cloudformation.Client, name string) string {
	ev, err := cfn.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	if err != nil {
		return fmt.Sprintf(" (DescribeStackEvents: %v)", err)
	}
	var b strings.Builder
	for _, e := range ev.StackEvents {
		if r := aws.ToString(e.ResourceStatusReason); r != "" {
			fmt.Fprintf(&b, "\n  %s %s: %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus, r)
		}
	}
	return b.String()
}

func describeTargets(ts []ebtypes.Target) string {
	var arns []string
	for _, t := range ts {
		arns = append(arns, aws.ToString(t.Arn))
	}
	return "[" + strings.Join(arns, ", ") + "]"
}

// TestMotoSubTemplateDropsDependents checks the derivation on a small template
// whose answer is known: a kept type that refers to a dropped resource goes
// too, and conditions decide what exists and which Fn::If branch counts.
func TestMotoSubTemplateDropsDependents(t *testing.T) {
	tmpl := map[string]any{
		"Parameters": map[string]any{
			"SecretArn": map[string]any{"Type": "String", "Default": ""},
			"Actions":   map[string]any{"Type": "CommaDelimitedList", "Default": ""},
		},
		"Conditions": map[string]any{
			"CreateSecret": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SecretArn"}, ""}},
			"UseGiven":     map[string]any{"Fn::Not": []any{map[string]any{"Condition": "CreateSecret"}}},
			"HasActions":   map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Fn::Join": []any{"", map[string]any{"Ref": "Actions"}}}, ""}}}},
		},
		"Resources": map[string]any{
			"Queue":  map[string]any{"Type": "AWS::SQS::Queue"},
			"Secret": map[string]any{"Type": "AWS::SecretsManager::Secret", "Condition": "CreateSecret"},
			"Uses":   map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"X": map[string]any{"Fn::Sub": "${Secret}"}}},
			"Chain":  map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"X": map[string]any{"Fn::GetAtt": []any{"Uses", "Arn"}}}},
			"Either": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"X": map[string]any{"Fn::If": []any{"UseGiven", map[string]any{"Ref": "SecretArn"}, map[string]any{"Ref": "Secret"}}}}},
		},
		"Outputs": map[string]any{
			"Q": map[string]any{"Value": map[string]any{"Ref": "Queue"}},
			"S": map[string]any{"Value": map[string]any{"Ref": "Secret"}},
			"P": map[string]any{"Value": map[string]any{"Fn::Sub": "${AWS::StackName}-${Queue.Arn}"}},
		},
	}
	for _, tc := range []struct {
		name        string
		params      map[string]string
		wantDropped []string
		wantOutputs []string
	}{
		{"secret created by the stack", nil, []string{"Chain", "Either", "Secret", "Uses"}, []string{"P", "Q"}},
		{"secret given", map[string]string{"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}, []string{"Chain", "Uses"}, []string{"P", "Q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, dropped, err := motoSubTemplate(tmpl, []string{"AWS::SQS::Queue"}, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dropped, tc.wantDropped) {
				t.Errorf("dropped = %v, want %v", dropped, tc.wantDropped)
			}
			var outs []string
			for k := range sub["Outputs"].(map[string]any) {
				outs = append(outs, k)
			}
			slices.Sort(outs)
			if !slices.Equal(outs, tc.wantOutputs) {
				t.Errorf("outputs = %v, want %v", outs, tc.wantOutputs)
			}
		})
	}
	conds, err := conditionValues(tmpl, map[string]string{"Actions": "a,b"})
	if err != nil {
		t.Fatal(err)
	}
	if !conds["HasActions"] || !conds["CreateSecret"] || conds["UseGiven"] {
		t.Errorf("conditions = %v, want HasActions and CreateSecret true, UseGiven false", conds)
	}
}
