package library

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// The library's kinds of global services get forwarding templates; the
// regional ones none.
func TestForwardingTemplatesCoverTheGlobalKinds(t *testing.T) {
	kinds := allKinds(t)
	files, err := ForwardingTemplates(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Region != "us-east-1" {
		t.Fatalf("forwarding templates for %v, want one for us-east-1", regionsOf(files))
	}
	var names []string
	for _, k := range files[0].Kinds {
		names = append(names, k.Name)
	}
	if want := []string{"cloudfront-distribution", "iam-role"}; !slices.Equal(names, want) {
		t.Errorf("forwarded kinds %v, want %v", names, want)
	}
	var tmpl struct {
		Rules     map[string]any
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := yaml.Unmarshal(files[0].Data, &tmpl); err != nil {
		t.Fatal(err)
	}
	if len(tmpl.Rules) != 2 {
		t.Errorf("Rules %v: want the region assertion and the not-the-exporter's-region assertion", tmpl.Rules)
	}
	regional, err := Select([]string{"s3-bucket", "lambda-function"})
	if err != nil {
		t.Fatal(err)
	}
	if none, err := ForwardingTemplates(regional); err != nil || len(none) != 0 {
		t.Errorf("regional kinds got forwarding templates: %v %v", regionsOf(none), err)
	}
	// init's config reads a global kind where its events arrive.
	bundle := NewBundle(kinds)
	for _, m := range bundle.Config.Resources {
		global := m.Kind == "AWS::IAM::Role" || m.Kind == "AWS::CloudFront::Distribution"
		if got := m.Selector.AWS != nil && slices.Equal(m.Selector.AWS.Regions, []string{"us-east-1"}); got != global {
			t.Errorf("%s: selector.aws %+v", m.Kind, m.Selector.AWS)
		}
	}
}

func regionsOf(files []ForwardingFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Region)
	}
	return out
}

func TestForwardingTemplatesPassCfnLint(t *testing.T) {
	t.Parallel() // a subprocess: overlap with the rest
	cfnLint := findTool(t, "PORT_AWS_EXPORTER_CFN_LINT", "/root/.pyenv/versions/3.11.7/bin/cfn-lint", "cfn-lint")
	files, err := ForwardingTemplates(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(t.TempDir(), ForwardingFileName(FormatCloudFormation.RulesFileName(), f.Region))
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if report, err := exec.Command(cfnLint, path).CombinedOutput(); err != nil {
			t.Fatalf("cfn-lint %s: %v\n%s", f.Region, err, report)
		}
	}
}

// End to end on moto: the forwarding stack deployed in us-east-1 sends an
// IAM CloudTrail event to eu-west-1's default bus, where the main rule of
// the kind turns it into a message on the exporter's queue; the message
// parses and names the role, in us-east-1 (where the call was recorded).
func TestForwardedEventReachesTheExportersQueue(t *testing.T) {
	t.Parallel() // a server round trip: overlap with the rest
	srv := moto.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kinds, err := Select([]string{"iam-role"})
	if err != nil {
		t.Fatal(err)
	}
	kind := kinds[0]

	// The exporter's region: its queue, and the main rule on the default bus.
	west := srv.AWSConfig(ctx, "eu-west-1")
	sq := sqs.NewFromConfig(west)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("port-events")})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := "arn:aws:sqs:eu-west-1:" + moto.AccountID + ":port-events"
	ebWest := eventbridge.NewFromConfig(west)
	pattern, _ := json.Marshal(kind.Pattern())
	if _, err := ebWest.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(kind.RuleName()), EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	// moto cannot render this exporter's input templates (moto_test.go uses
	// a constant one): the target takes the event whole, and our
	// transformer (the one the pipeline tests check) makes the message.
	if _, err := ebWest.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(kind.RuleName()), Targets: []ebtypes.Target{{
		Id: aws.String(TargetID), Arn: aws.String(queueARN),
	}}}); err != nil {
		t.Fatal(err)
	}

	// The forwarding stack, in us-east-1.
	files, err := ForwardingTemplates(kinds)
	if err != nil || len(files) != 1 {
		t.Fatalf("forwarding templates: %v, %v", len(files), err)
	}
	east := srv.AWSConfig(ctx, "us-east-1")
	cfn := cloudformation.NewFromConfig(east)
	if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String("port-aws-exporter-forwarding"), TemplateBody: aws.String(string(files[0].Data)),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String(ExporterRegionParameter), ParameterValue: aws.String("eu-west-1")}},
	}); err != nil {
		t.Fatal(err)
	}
	waiter := cloudformation.NewStackCreateCompleteWaiter(cfn, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := waiter.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("port-aws-exporter-forwarding")}, time.Minute); err != nil {
		t.Fatalf("forwarding stack: %v", err)
	}
	ebEast := eventbridge.NewFromConfig(east)
	targets, err := ebEast.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(kind.RuleName() + "-forward")})
	if err != nil || len(targets.Targets) != 1 {
		t.Fatalf("forwarding rule's targets: %v, %v", targets, err)
	}
	if arn := aws.ToString(targets.Targets[0].Arn); arn != "arn:aws:events:eu-west-1:"+moto.AccountID+":event-bus/default" {
		t.Errorf("forwarding target %s, want eu-west-1's default bus", arn)
	}

	// An IAM CloudTrail event, as AWS records it in us-east-1.
	raw, err := os.ReadFile(filepath.Join("testdata", "events", "iam-role", "attach-role-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c documentedCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var env struct {
		Source     string         `json:"source"`
		DetailType string         `json:"detail-type"`
		Detail     map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(wrapCloudTrail(t, c.Event), &env); err != nil {
		t.Fatal(err)
	}
	detail, _ := json.Marshal(env.Detail)
	out, err := ebEast.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(env.Source), DetailType: aws.String(env.DetailType), Detail: aws.String(string(detail)),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put event: %v", err)
	}

	var body string
	for deadline := time.Now().Add(20 * time.Second); body == "" && time.Now().Before(deadline); {
		recv, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(recv.Messages) > 0 {
			body = aws.ToString(recv.Messages[0].Body)
		}
	}
	if body == "" {
		t.Fatal("no message reached the exporter's queue in eu-west-1")
	}
	// The event's own region field after forwarding is the forwarder's
	// business (moto sets the destination's); the record's awsRegion, which
	// the global kinds' rules read, is where the call was recorded.
	var delivered struct {
		Source string `json:"source"`
		Detail struct {
			AWSRegion string `json:"awsRegion"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &delivered); err != nil || delivered.Source != "aws.iam" || delivered.Detail.AWSRegion != "us-east-1" {
		t.Fatalf("delivered %s (%v): want the IAM event recorded in us-east-1", body, err)
	}
	outs := runRules(t, compileRules(t), []byte(body))
	if len(outs) != 1 || outs[0].kind.Name != "iam-role" || outs[0].err != nil {
		t.Fatalf("the forwarded event made %v (%v), want one iam-role message", kindNames(outs), outs)
	}
	d := outs[0].decision
	roleName, _ := env.Detail["requestParameters"].(map[string]any)["roleName"].(string)
	if d.ResourceType != "AWS::IAM::Role" || d.Region != "us-east-1" || roleName == "" || !strings.Contains(d.Identifier, roleName) {
		t.Errorf("decision %+v, want the role %q in us-east-1", d, roleName)
	}
}

// The Terraform forwarding module is self-contained (every reference
// declared in it), formatted as terraform fmt writes it, and forwards each
// global kind's events to the exporter region's bus.
func TestTerraformForwardingModule(t *testing.T) {
	modules, err := TerraformForwarding(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(modules) != 1 || modules[0].Region != "us-east-1" {
		t.Fatalf("forwarding modules for %v, want us-east-1", regionsOf(modules))
	}
	file, diags := hclparse.NewParser().ParseHCL(modules[0].Data, "main.tf")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	declared := map[string]bool{}
	body := file.Body.(*hclsyntax.Body)
	rules := 0
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable":
			declared["var."+b.Labels[0]] = true
		case "data":
			declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
		case "resource":
			declared[b.Labels[0]+"."+b.Labels[1]] = true
			if b.Labels[0] == "aws_cloudwatch_event_rule" {
				rules++
			}
		case "locals":
			for name := range b.Body.Attributes {
				declared["local."+name] = true
			}
		case "check":
		default:
			t.Errorf("unexpected block %s", b.Type)
		}
	}
	if rules != len(modules[0].Kinds) {
		t.Errorf("%d forwarding rules for %d kinds", rules, len(modules[0].Kinds))
	}
	var walk func(*hclsyntax.Body)
	refs := 0
	walk = func(b *hclsyntax.Body) {
		for name, a := range b.Attributes {
			if name == "type" {
				continue
			}
			for _, tr := range a.Expr.Variables() {
				refs++
				addr := tr.RootName()
				for _, step := range tr[1:] {
					if at, ok := step.(hcl.TraverseAttr); ok {
						addr += "." + at.Name
						if declared[addr] {
							break
						}
					}
				}
				if !declared[addr] {
					t.Errorf("reference %s is declared nowhere in the module", addr)
				}
			}
		}
		for _, nb := range b.Blocks {
			walk(nb.Body)
		}
	}
	walk(body)
	if refs < 10 {
		t.Errorf("only %d references checked", refs)
	}
	if tf, err := exec.LookPath("terraform"); err == nil {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ForwardingModuleFile), modules[0].Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(tf, "fmt", "-check", "-diff", dir).CombinedOutput(); err != nil {
			t.Errorf("terraform fmt -check: %v\n%s", err, out)
		}
	}
}
