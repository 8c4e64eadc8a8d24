package deploy_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// memberKinds are a regional kind, a global service's and S3's.
var memberKinds = []string{"lambda-function", "iam-role", "s3-bucket"}

func memberTemplate(t *testing.T) []byte {
	t.Helper()
	kinds, err := library.Select(memberKinds)
	if err != nil {
		t.Fatal(err)
	}
	body, err := library.MemberTemplate(kinds, false)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestMemberTemplateDeploysIntoMoto deploys the member-account template as a
// StackSet would in three places: a member account's role region, another
// region of that account (no second role: IAM is global), and the
// exporter's own account (nothing forwarded to itself).
func TestMemberTemplateDeploysIntoMoto(t *testing.T) {
	server := moto.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	body := string(memberTemplate(t))
	const exporterAccount, exporterRole, externalID = "111111111111", "arn:aws:iam::111111111111:role/port-aws-exporter", "port-42"
	params := func(exporter string) map[string]string {
		return map[string]string{
			library.MemberExporterAccountParameter: exporter,
			library.MemberExporterRegionParameter:  "eu-west-1",
			library.MemberExporterRoleParameter:    exporterRole,
			library.MemberExternalIDParameter:      externalID,
			library.MemberRoleRegionParameter:      "us-east-1",
		}
	}

	home := server.AWSConfig(ctx, "us-east-1")
	outputs := createStack(ctx, t, cloudformation.NewFromConfig(home), "member-us-east-1", body, params(exporterAccount))

	// The read role: trusted by the exporter's role only, with the external ID.
	role, err := iam.NewFromConfig(home).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(library.DefaultMemberRoleName)})
	if err != nil {
		t.Fatalf("GetRole %s: %v", library.DefaultMemberRoleName, err)
	}
	if got := outputs["ReadRoleArn"]; got != aws.ToString(role.Role.Arn) {
		t.Errorf("output ReadRoleArn = %q, role = %q", got, aws.ToString(role.Role.Arn))
	}
	trustText, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Principal map[string]any
			Action    any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(trustText), &trust); err != nil {
		t.Fatalf("trust policy %s: %v", trustText, err)
	}
	if len(trust.Statement) != 1 || trust.Statement[0].Principal["AWS"] != exporterRole ||
		trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != externalID {
		t.Errorf("trust policy = %s, want the exporter's role only, with external ID %s", trustText, externalID)
	}
	policy, err := iam.NewFromConfig(home).GetRolePolicy(ctx, &iam.GetRolePolicyInput{
		RoleName: aws.String(library.DefaultMemberRoleName), PolicyName: aws.String("read-the-configured-kinds")})
	if err != nil {
		t.Fatalf("GetRolePolicy: %v", err)
	}
	policyText, _ := url.QueryUnescape(aws.ToString(policy.PolicyDocument))
	for _, want := range []string{"lambda:ListFunctions", "iam:ListRoles", "s3:ListAllMyBuckets"} {
		if !strings.Contains(policyText, want) {
			t.Errorf("read policy lacks %s: %s", want, policyText)
		}
	}
	for _, write := range []string{"lambda:Delete", "iam:Create", "s3:Put", "s3:GetObject\""} {
		if strings.Contains(policyText, write) {
			t.Errorf("read policy holds %s: %s", write, policyText)
		}
	}

	// Forwarding rules: one per kind, to the exporter's default bus, with a role.
	bus := "arn:aws:events:eu-west-1:" + exporterAccount + ":event-bus/default"
	checkForwarding := func(cfg aws.Config, where string, want int) {
		t.Helper()
		eb := eventbridge.NewFromConfig(cfg)
		rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("port-aws-exporter-sync-")})
		if err != nil {
			t.Fatalf("%s: ListRules: %v", where, err)
		}
		var names []string
		for _, r := range rules.Rules {
			names = append(names, aws.ToString(r.Name))
			targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name})
			if err != nil {
				t.Fatalf("%s: ListTargetsByRule %s: %v", where, aws.ToString(r.Name), err)
			}
			if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != bus || aws.ToString(targets.Targets[0].RoleArn) == "" ||
				targets.Targets[0].InputTransformer != nil {
				t.Errorf("%s: rule %s targets %s, want the exporter's bus %s unchanged, with a role", where, aws.ToString(r.Name), describeTargets(targets.Targets), bus)
			}
		}
		if len(names) != want {
			t.Errorf("%s: forwarding rules %v, want %d", where, names, want)
		}
		for _, k := range memberKinds {
			if want > 0 && !slices.Contains(names, "port-aws-exporter-sync-"+k+"-member") {
				t.Errorf("%s: no forwarding rule for %s in %v", where, k, names)
			}
		}
	}
	checkForwarding(home, "member account, us-east-1", len(memberKinds))

	// Another region of the same account: the rules again, no second role
	// (creating it again would fail the stack: the name is taken).
	other := server.AWSConfig(ctx, "ap-southeast-2")
	outputs = createStack(ctx, t, cloudformation.NewFromConfig(other), "member-ap-southeast-2", body, params(exporterAccount))
	if _, ok := outputs["ReadRoleArn"]; ok {
		t.Errorf("a second region created the read role again: outputs %v", outputs)
	}
	checkForwarding(other, "member account, ap-southeast-2", len(memberKinds))

	// The exporter's own account (moto's): its main rules see its events
	// already, so nothing is forwarded.
	own := server.AWSConfig(ctx, "eu-west-1")
	createStack(ctx, t, cloudformation.NewFromConfig(own), "member-own-account", body, map[string]string{
		library.MemberExporterAccountParameter: moto.AccountID,
		library.MemberExporterRegionParameter:  "eu-west-1",
		library.MemberExporterRoleParameter:    exporterRole,
		library.MemberExternalIDParameter:      externalID,
		library.MemberRoleRegionParameter:      "us-east-1",
	})
	checkForwarding(own, "exporter's own account", 0)
}

// TestMemberAccountsModulePassesEveryParameter: the Terraform module's
// StackSet passes exactly the member-account template's parameters.
func TestMemberAccountsModulePassesEveryParameter(t *testing.T) {
	var template struct {
		Parameters map[string]any `json:"Parameters"`
	}
	if err := yaml.Unmarshal(memberTemplate(t), &template); err != nil {
		t.Fatal(err)
	}
	module, err := loadTFModule("terraform/modules/member-accounts")
	if err != nil {
		t.Fatal(err)
	}
	set := findBlockNamed(module, "resource", "aws_cloudformation_stack_set", "member")
	if set == nil {
		t.Fatal("module has no aws_cloudformation_stack_set.member")
	}
	obj, ok := set.Body.Attributes["parameters"].Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatal("the StackSet's parameters are not an object")
	}
	var passed, declared []string
	for _, item := range obj.Items {
		passed = append(passed, hcl.ExprAsKeyword(item.KeyExpr))
	}
	for name := range template.Parameters {
		declared = append(declared, name)
	}
	slices.Sort(passed)
	slices.Sort(declared)
	if len(declared) < 6 || !slices.Equal(passed, declared) {
		t.Errorf("module passes %v, template declares %v", passed, declared)
	}
}
