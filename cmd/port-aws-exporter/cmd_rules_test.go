package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/rules/lint"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// rulesTestdata holds the inputs of the rules test cases.
const rulesTestdata = "../../internal/rules/ruletest/testdata"

type rulesCLICase struct {
	Name         string           `json:"name"`
	Args         []string         `json:"args"`
	Stdout       []string         `json:"stdout"`
	JSONDecision *events.Decision `json:"json_decision"`
	Err          string           `json:"err"`
	Err2         string           `json:"err2"`
}

// TestRulesTestCommand runs `rules test` in-process, end to end, on the
// seed's template and real CloudTrail records.
func TestRulesTestCommand(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(rulesTestdata, "cli.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []rulesCLICase
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("cli.yaml: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			args := make([]string, len(tc.Args))
			for i, a := range tc.Args {
				args[i] = strings.ReplaceAll(a, "{dir}", rulesTestdata)
			}
			root := newRootCommand()
			var stdout, stderr bytes.Buffer
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			root.SetArgs(args)
			err := root.ExecuteContext(context.Background())
			switch {
			case tc.Err == "" && err != nil:
				t.Fatalf("error: %v\nstdout:\n%s", err, stdout.String())
			case tc.Err != "" && err == nil:
				t.Fatalf("no error, want %q\nstdout:\n%s", tc.Err, stdout.String())
			case tc.Err != "":
				for _, want := range []string{tc.Err, tc.Err2} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
			}
			for _, want := range tc.Stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tc.JSONDecision != nil {
				var rep ruletest.Report
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
					t.Fatalf("--output json is not a report: %v\n%s", err, stdout.String())
				}
				if len(rep.Matches) != 1 || len(rep.Matches[0].Targets) != 1 || rep.Matches[0].Targets[0].Decision == nil {
					t.Fatalf("report: %s", stdout.String())
				}
				if got := *rep.Matches[0].Targets[0].Decision; got != *tc.JSONDecision {
					t.Errorf("decision = %+v, want %+v", got, *tc.JSONDecision)
				}
			}
		})
	}
}

// The project rules file shown in docs/rules.md is what users copy first: it
// must produce a message the exporter accepts.
func TestDocumentedProjectRulesFileWorks(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "### The project's rules file")
	if !ok {
		t.Fatal(`docs/rules.md has no "The project's rules file" section`)
	}
	_, block, ok := strings.Cut(rest, "```json\n")
	if !ok {
		t.Fatal("the section has no JSON example")
	}
	block, _, _ = strings.Cut(block, "```")
	rules := writeFile(t, "rules.json", block)
	out, err := runCLI(t, "rules", "test", "--rules", rules,
		"--event", filepath.Join(rulesTestdata, "cloudtrail/lambda_DeleteFunction20150331__invictus-ir_aws_dataset.json"))
	if err != nil {
		t.Fatalf("rules test on the documented example: %v\n%s", err, out)
	}
	for _, want := range []string{"MATCH  lambda-writes", "action         delete", "identifier     stratus-red-team-backdoor-f-func"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// What users copy must not be injectable either.
	if out, err := runCLI(t, "rules", "lint", rules); err != nil || !strings.Contains(out, "0 finding(s)") {
		t.Errorf("rules lint on the documented example: %v\n%s", err, out)
	}
}

// rules test --config reads s3:// like every other --config (it answered "no S3 client").
func TestRulesTestReadsConfigFromS3(t *testing.T) {
	m := moto.Start(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_S3", m.URL)
	body, err := os.ReadFile(filepath.Join(rulesTestdata, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("rules-config")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("rules-config"), Key: aws.String("config.json"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "rules", "test", "--rules", "../../internal/rules/template/testdata/seed-event-rule-template.yaml",
		"--event", filepath.Join(rulesTestdata, "seed-createfunction-event.json"), "--config", "s3://rules-config/config.json")
	if err != nil {
		t.Fatalf("rules test with an s3:// config: %v\n%s", err, out)
	}
	if !strings.Contains(out, "if gone: read \"test-function\" (not found); delete lambda/test-function") {
		t.Errorf("the report does not use the config:\n%s", out)
	}
}

const lintTestdata = "../../internal/rules/lint/testdata"

// commandExit is the code a command's error exits with (0 without error).
func commandExit(t *testing.T, err error) int {
	t.Helper()
	var exit *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	}
	t.Fatalf("error without exit code: %v", err)
	return -1
}

// rules test exits 1 on a message whose keys were injected, naming the keys
// and the placeholder, even though the exporter would accept the message.
func TestRulesTestExitsOnInjection(t *testing.T) {
	out, err := runCLI(t, "rules", "test", "--rules", filepath.Join(lintTestdata, "seed-event-rule-template.yaml"),
		"--event", filepath.Join(rulesTestdata, "injection-denied-deletefunction.json"))
	if code := commandExit(t, err); code != 1 {
		t.Fatalf("exit code %d, want 1 (%v)\n%s", code, err, out)
	}
	for _, want := range []string{"keys differ from the template's (injection", `added "resource_identifier", "x"`,
		"caused by <requestFunctionName> ($.detail.requestParameters.functionName)"} {
		if !strings.Contains(err.Error()+"\n"+out, want) {
			t.Errorf("output lacks %q:\n%s\n%v", want, out, err)
		}
	}
	// The same event and an honest record with the library's rule: exit 0.
	out, err = runCLI(t, "rules", "test", "--rules", filepath.Join(rulesTestdata, "library-lambda-function.yaml"),
		"--event", filepath.Join(rulesTestdata, "injection-denied-deletefunction.json"))
	if code := commandExit(t, err); code != 0 || !strings.Contains(out, "No rule matched") {
		t.Errorf("library rule on the denied call: exit %d (%v)\n%s", code, err, out)
	}
}

func TestRulesLintCommand(t *testing.T) {
	seed := filepath.Join(lintTestdata, "seed-event-rule-template.yaml")
	out, err := runCLI(t, "rules", "lint", seed)
	if code := commandExit(t, err); code != 1 {
		t.Fatalf("seed template: exit %d, want 1 (%v)\n%s", code, err, out)
	}
	for _, want := range []string{"3 finding(s)", "failed-calls:", `add "errorCode": [{"exists": false}] under detail`,
		"<requestFunctionName> instead of \"<requestFunctionName>\"", "<responseFunctionName> ($.detail.responseElements.functionName)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}

	out, err = runCLI(t, "rules", "lint", "-o", "json", seed)
	if code := commandExit(t, err); code != 1 {
		t.Fatalf("seed template, json: exit %d (%v)", code, err)
	}
	var rep lint.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json is not a report: %v\n%s", err, out)
	}
	kinds := map[string]int{}
	for _, f := range rep.Findings {
		kinds[f.Kind]++
	}
	if rep.RulesRead != 1 || kinds[lint.FailedCalls] != 1 || kinds[lint.QuotedPlaceholder] != 2 {
		t.Errorf("json report: %+v", rep)
	}

	// With the config a user pairs it with: the seed's rule names a deleted
	// function by its name; a config naming entities by a computed ARN can
	// never be reached by it.
	computed := filepath.Join("..", "..", "internal", "rules", "ruletest", "testdata", "config-lambda-computed-identifier.json")
	out, err = runCLI(t, "rules", "lint", "-o", "json", seed, "--config", computed)
	if code := commandExit(t, err); code != 1 {
		t.Fatalf("seed template with a computed identifier: exit %d (%v)\n%s", code, err, out)
	}
	rep = lint.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json is not a report: %v\n%s", err, out)
	}
	mismatches := 0
	for _, f := range rep.Findings {
		if f.Kind == lint.IdentifierMismatch {
			mismatches++
			if !strings.Contains(f.Fix, ".FunctionName") || f.Where != "on DeleteFunction" {
				t.Errorf("identifier-mismatch finding: %+v", f)
			}
		}
	}
	if mismatches != 1 {
		t.Errorf("%d identifier-mismatch findings, want 1: %+v", mismatches, rep.Findings)
	}

	// Generated rules of every kind, as the user gets them: nothing to report.
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if out, err := runCLI(t, "rules", "generate", "--kinds", "all", "--out", rules); err != nil {
		t.Fatalf("rules generate: %v\n%s", err, out)
	}
	out, err = runCLI(t, "rules", "lint", rules)
	if code := commandExit(t, err); code != 0 || !strings.Contains(out, "0 finding(s)") {
		t.Errorf("generated rules: exit %d (%v)\n%s", code, err, out)
	}
	// And with init's config of every kind: the library's rules send
	// entity_identifier, so every delete reaches its entity.
	dir := t.TempDir()
	if out, err := runCLI(t, "init", "--kinds", "all", "--dir", dir); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	out, err = runCLI(t, "rules", "lint", filepath.Join(dir, "port-aws-exporter-rules.yaml"), "--config", filepath.Join(dir, "config.json"))
	if code := commandExit(t, err); code != 0 || !strings.Contains(out, "0 finding(s)") {
		t.Errorf("init's rules with init's config: exit %d (%v)\n%s", code, err, out)
	}

	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"rules", "lint"}, "accepts 1 arg(s)"},
		{[]string{"rules", "lint", "-o", "xml", seed}, `invalid argument "xml" for "-o, --output" flag: want text or json`},
		{[]string{"rules", "lint", filepath.Join(rulesTestdata, "rules.tf")}, "Terraform rules cannot be tested"},
	} {
		if _, err := runCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.err)
		}
	}
}
