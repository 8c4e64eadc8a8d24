package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/corpus"
)

// runKindsCLI runs the root command in-process and returns its standard output only.
func runKindsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), err
}

func TestKindsList(t *testing.T) {
	out, err := runKindsCLI(t, "kinds", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []kindSummary
	if err := json.Unmarshal([]byte(out), &kinds); err != nil {
		t.Fatalf("kinds list -o json: %v\n%s", err, out)
	}
	all, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) != len(all) || len(kinds) < 25 {
		t.Fatalf("listed %d kinds, the library has %d", len(kinds), len(all))
	}
	for _, k := range kinds {
		if k.Type == "AWS::ECS::Service" && (k.Identifier != "ServiceArn|Cluster" || k.EntityIdentifier != ".ServiceArn") {
			t.Errorf("ECS service listed with identifiers %q / %q", k.Identifier, k.EntityIdentifier)
		}
	}
	text, err := runKindsCLI(t, "kinds", "list")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(text, "\n"); lines != len(all)+1 || !strings.HasPrefix(text, "TYPE") {
		t.Errorf("text table has %d lines for %d kinds:\n%s", lines, len(all), text)
	}
}

// init writes a consistent starting point, refuses to overwrite it, and the
// files it writes work with the exporter's config reader and `rules test`.
func TestInitThenRulesTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "catalog")
	out, err := runKindsCLI(t, "init", "--kinds", "ecs-service,lambda-function,ecs-cluster", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "blueprints.json", "port-aws-exporter-rules.yaml"} {
		if !strings.Contains(out, filepath.Join(dir, name)) {
			t.Errorf("init did not report %s:\n%s", name, out)
		}
	}
	configData, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(configData, config.JSON)
	if err != nil {
		t.Fatalf("config.json: %v", err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatalf("config.json does not compile: %v", err)
	}
	if got := strings.Join(m.Kinds(), ","); got != "AWS::ECS::Service,AWS::Lambda::Function,AWS::ECS::Cluster" {
		t.Errorf("config kinds %s", got)
	}
	var blueprints []library.Blueprint
	data, err := os.ReadFile(filepath.Join(dir, "blueprints.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &blueprints); err != nil {
		t.Fatal(err)
	}
	if len(blueprints) != 3 || blueprints[0].Identifier == "awsEcsService" {
		t.Errorf("blueprints out of creation order: %v", blueprints)
	}
	for _, bp := range blueprints {
		if bp.Identifier == "awsLambdaFunction" && len(bp.Relations) != 0 {
			t.Errorf("lambda keeps a relation to the unselected IAM role blueprint: %v", bp.Relations)
		}
	}

	// A second init must not touch the files.
	before := string(configData)
	if _, err := runKindsCLI(t, "init", "--kinds", "s3-bucket", "--dir", dir); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second init: %v, want a refusal naming --force", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(after) != before {
		t.Fatal("refused init still changed config.json")
	}
	if _, err := runKindsCLI(t, "init", "--kinds", "s3-bucket", "--dir", dir, "--force"); err != nil {
		t.Fatalf("init --force: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); !strings.Contains(string(after), "AWS::S3::Bucket") {
		t.Fatal("init --force did not replace config.json")
	}

	// The generated rules, read back by `rules test` with the generated config.
	rules := filepath.Join(dir, "rules.yaml")
	if _, err := runKindsCLI(t, "rules", "generate", "--kinds", "all", "--out-file", rules); err != nil {
		t.Fatal(err)
	}
	record := corpus.CloudTrailRecord("s3_DeleteBucket__invictus-ir_aws_dataset.json")
	report, err := runKindsCLI(t, "rules", "test", "--rules", rules, "--event", record, "--config", filepath.Join(dir, "config.json"), "--output", "json")
	if err != nil {
		t.Fatalf("rules test on generated rules: %v\n%s", err, report)
	}
	for _, want := range []string{`"S3BucketEventRule"`, `"action": "delete"`, `"identifier": "stratus-red-team-ctlr-bucket-zqfsvooxqj"`, `"awsS3Bucket/stratus-red-team-ctlr-bucket-zqfsvooxqj"`} {
		if !strings.Contains(report, want) {
			t.Errorf("rules test report lacks %s:\n%s", want, report)
		}
	}
}

func TestRulesGenerateTerraformToStdout(t *testing.T) {
	out, err := runKindsCLI(t, "rules", "generate", "--kinds", "AWS::SQS::Queue", "--format", "terraform")
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := library.Select([]string{"sqs-queue"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := library.Terraform(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("stdout differs from library.Terraform:\n%s", out)
	}
	if _, err := runKindsCLI(t, "rules", "generate", "--kinds", "sqs-queue", "--format", "pulumi"); err == nil || exitCode(err) != exitUsage {
		t.Error("unknown format accepted")
	}
}

// docs/install.md generates Terraform rules into event-rules/; the directory
// need not exist, as with init --dir.
func TestRulesGenerateCreatesTheOutputDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "event-rules", "port-aws-exporter-rules.tf")
	if msg, err := runCLI(t, "rules", "generate", "--kinds", "lambda-function", "--format", "terraform", "--out", out); err != nil {
		t.Fatalf("rules generate: %v\n%s", err, msg)
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `resource "aws_cloudwatch_event_rule" "lambda_function"`) {
		t.Errorf("%s holds no Lambda rule:\n%s", out, body)
	}
}

func TestRulesGenerateMemberAccounts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules.yaml")
	msg, err := runCLI(t, "rules", "generate", "--kinds", "lambda-function,iam-role", "--member-accounts", "--out-file", out)
	if err != nil {
		t.Fatalf("rules generate --member-accounts: %v\n%s", err, msg)
	}
	body, err := os.ReadFile(strings.TrimSuffix(out, ".yaml") + ".member-account.yaml")
	if err != nil {
		t.Fatalf("no member-account template beside %s: %v\n%s", out, err, msg)
	}
	for _, want := range []string{"LambdaFunctionMemberForwardRule", "IAMRoleMemberForwardRule", "sts:ExternalId", "lambda:ListFunctions"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("member-account template lacks %s", want)
		}
	}
	out = filepath.Join(t.TempDir(), "rules.yaml")
	msg, err = runCLI(t, "rules", "generate", "--kinds", "lambda-function,sqs-queue", "--aws-config", "--member-accounts", "--out-file", out)
	if err != nil {
		t.Fatalf("rules generate --aws-config: %v\n%s", err, msg)
	}
	if body, err := os.ReadFile(strings.TrimSuffix(out, ".yaml") + ".member-account.yaml"); err != nil || !strings.Contains(string(body), "AWSConfigItemMemberForwardRule") {
		t.Errorf("the member-account template does not forward Config's events with --aws-config (%v)", err)
	}
	if body, err := os.ReadFile(strings.TrimSuffix(out, ".yaml") + ".aws-config.yaml"); err != nil || !strings.Contains(string(body), "OversizedConfigurationItemChangeNotification") {
		t.Errorf("no AWS Config rules beside %s (%v)\n%s", out, err, msg)
	}
	if !strings.Contains(msg, "AWS::SQS::Queue is left to its CloudTrail rule") {
		t.Errorf("rules generate --aws-config does not name the kind it leaves out:\n%s", msg)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "generate", "--kinds", "lambda-function", "--member-accounts"}, "give one"},
		{[]string{"rules", "generate", "--kinds", "sqs-queue", "--aws-config", "--out-file", filepath.Join(t.TempDir(), "r.yaml")}, "none of the kinds is covered"},
		{[]string{"rules", "generate", "--kinds", "lambda-function", "--member-accounts", "-o", "terraform", "--out-file", filepath.Join(t.TempDir(), "r.tf")}, "deploy/terraform/modules/member-accounts"},
	} {
		msg, err := runCLI(t, c.args...)
		if code := commandExit(t, err); code != 2 || !strings.Contains(msg+fmt.Sprint(err), c.want) {
			t.Errorf("%v: exit %d, %v\n%s", c.args, code, err, msg)
		}
	}
}
