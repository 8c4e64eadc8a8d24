package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/config"
)

const lambdaMapping = `"port": {"entity": {"mappings": [{"identifier": ".Arn", "blueprint": "\"lambda\""}]}}`

// config validate knows AWS: a typo kind and a kind Cloud Control cannot read
// fail with their suggestion, a region of the European Sovereign Cloud passes,
// and --strict turns warnings (an unknown key, with the key meant) into exit 1.
func TestConfigValidateKnowsAWS(t *testing.T) {
	cases := []struct {
		name   string
		config string
		strict bool
		fails  bool
		want   []string
	}{
		{"typo kind", `{"resources": [{"kind": "AWS::Lambda::Functon", ` + lambdaMapping + `}]}`, false, true,
			[]string{`resources[0].kind: "AWS::Lambda::Functon" is not a CloudFormation resource type`, `did you mean "AWS::Lambda::Function"?`}},
		{"unreadable kind", `{"resources": [{"kind": "AWS::CodeBuild::Project", ` + lambdaMapping + `}]}`, false, true,
			[]string{"resources[0].kind: the exporter cannot read AWS::CodeBuild::Project", "the describe reader reads AWS::ACM::Certificate"}},
		{"eusc region", `{"resources": [{"kind": "AWS::Lambda::Function", "selector": {"aws": {"regions": ["eusc-de-east-1"]}}, ` + lambdaMapping + `}]}`, false, false,
			[]string{"valid (1 resources, 1 kinds)"}},
		{"unknown key is a warning", `{"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifer": ".Arn", "identifier": ".Arn", "blueprint": "\"lambda\""}]}}}]}`, false, false,
			[]string{`warning: resources[0].port.entity.mappings[0].identifer: unknown key; ignored; did you mean "identifier"?`, "valid"}},
		{"--strict makes it a problem", `{"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifer": ".Arn", "identifier": ".Arn", "blueprint": "\"lambda\""}]}}}]}`, true, true,
			[]string{`did you mean "identifier"?`}},
	}
	if len(cases) < 5 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, "config.json", c.config)
			args := []string{"config", "validate", "--config", path}
			if c.strict {
				args = append(args, "--strict")
			}
			out, err := runCLI(t, args...)
			var exit *exitError
			if failed := errors.As(err, &exit) && exit.code == 1; failed != c.fails {
				t.Fatalf("exit %v, want failure %v\n%s", err, c.fails, out)
			}
			if c.strict && err != nil && !strings.Contains(err.Error(), "1 warning(s) (--strict)") {
				t.Errorf("error %q does not say --strict counted the warning", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// init and rules generate refuse an unknown --kinds entry, saying what it is.
func TestInitNamesWhatAnUnknownKindIs(t *testing.T) {
	cases := map[string]string{
		"lambda-functon":          `unknown kind "lambda-functon"; did you mean "lambda-function"?`,
		"AWS::Lambda::Functon":    `did you mean "AWS::Lambda::Function"?`,
		"AWS::SNS::Subscription":  "AWS::SNS::Subscription has no ready-made rule, mapping and blueprint in the library; Cloud Control can read it",
		"AWS::CodeBuild::Project": "the exporter cannot read it: Cloud Control does not support it",
	}
	for kind, want := range cases {
		dir := filepath.Join(t.TempDir(), "out")
		_, _, err := runCLISplit(t, "init", "--kinds", "s3-bucket,"+kind, "--dir", dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("init --kinds s3-bucket,%s: %v, want %q", kind, err, want)
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("init --kinds %s wrote %s despite the error", kind, dir)
		}
	}
}

// kinds list with type names or --all shows any catalogue type's reader.
func TestKindsListShowsCatalogueTypes(t *testing.T) {
	out, _, err := runCLISplit(t, "kinds", "list", "AWS::CodeBuild::Project", "AWS::Lambda::Function", "AWS::ACM::Certificate", "AWS::IAM::Role", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got []catalogTypeSummary
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string]string{"AWS::CodeBuild::Project": "none", "AWS::Lambda::Function": "cloudcontrol", "AWS::ACM::Certificate": "describe", "AWS::IAM::Role": "cloudcontrol"}
	if len(got) != len(want) {
		t.Fatalf("listed %d types, want %d", len(got), len(want))
	}
	for _, s := range got {
		if s.Reader != want[s.Type] {
			t.Errorf("%s: reader %q, want %q", s.Type, s.Reader, want[s.Type])
		}
		switch s.Type {
		case "AWS::IAM::Role":
			if s.Global != "us-east-1" || s.Library != "iam-role" {
				t.Errorf("IAM role: %+v", s)
			}
		case "AWS::Lambda::Function":
			if !slices.Contains(s.ListPermissions, "lambda:ListFunctions") {
				t.Errorf("Lambda list permissions %v", s.ListPermissions)
			}
		case "AWS::CodeBuild::Project":
			if s.Why == "" {
				t.Error("an unreadable type says no why")
			}
		}
	}
	all, _, err := runCLISplit(t, "kinds", "list", "--all")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(all, "\n"); lines < len(catalog.Types()) {
		t.Errorf("--all printed %d lines for %d types", lines, len(catalog.Types()))
	}
	if _, _, err := runCLISplit(t, "kinds", "list", "AWS::S3::Buckett"); err == nil || !strings.Contains(err.Error(), `did you mean "AWS::S3::Bucket"?`) {
		t.Errorf("kinds list of a typo: %v", err)
	}
}

// iam policy prints the least read-only policy: Cloud Control's calls, the
// kinds' handler permissions without the non-read ones (named on stderr),
// the exporter's own needs for what is configured; -o actions is the
// stack's ResourceReadActions value.
func TestIAMPolicy(t *testing.T) {
	path := writeFile(t, "config.json", `{"resources": [
  {"kind": "AWS::Lambda::Function", `+lambdaMapping+`},
  {"kind": "AWS::S3::Bucket", "port": {"entity": {"mappings": [{"identifier": ".BucketName", "blueprint": "\"bucket\""}]}}},
  {"kind": "AWS::Lambda::Function", `+lambdaMapping+`}]}`)
	out, stderr, err := runCLISplit(t, "iam", "policy", "--config", path,
		"--queue-arn", "arn:aws:sqs:eu-west-1:123456789012:events", "--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:port-AbCdEf")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid, Effect string
			Action      []string
			Resource    any
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bySid := map[string][]string{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			t.Errorf("%s: effect %s", s.Sid, s.Effect)
		}
		bySid[s.Sid] = s.Action
	}
	if doc.Version != "2012-10-17" || !slices.Equal(bySid["CloudControlRead"], []string{"cloudformation:ListResources", "cloudformation:GetResource"}) ||
		!slices.Equal(bySid["WhoAmI"], []string{"sts:GetCallerIdentity"}) || len(bySid["PortCredentialsRead"]) != 1 || len(bySid["EventsQueue"]) != 6 {
		t.Errorf("policy statements %v", bySid)
	}
	if _, ok := bySid["ConfigObjectRead"]; ok {
		t.Error("a local config file needs no s3:GetObject")
	}
	read := bySid["ConfiguredKindsRead"]
	want := catalog.ReadPermissions([]string{"AWS::Lambda::Function", "AWS::S3::Bucket"}).Actions
	if !slices.Equal(read, want) || !slices.Contains(read, "lambda:ListFunctions") || !slices.Contains(read, "s3:ListAllMyBuckets") {
		t.Errorf("read actions %v, want %v", read, want)
	}
	for _, a := range read {
		if !catalog.ReadOnlyAction(a) {
			t.Errorf("%s is not read-only", a)
		}
	}
	if slices.Contains(read, "kms:Decrypt") || !strings.Contains(stderr, "kms:Decrypt (listed by AWS::Lambda::Function)") {
		t.Errorf("kms:Decrypt should be left out and named; stderr:\n%s", stderr)
	}

	actions, _, err := runCLISplit(t, "iam", "policy", "--config", path, "-o", "actions")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(actions), ","); !slices.Equal(got, want) {
		t.Errorf("-o actions %v, want %v", got, want)
	}

	bad := writeFile(t, "bad.json", `{"resources": [{"kind": "AWS::CodeBuild::Project", `+lambdaMapping+`}]}`)
	if _, _, err := runCLISplit(t, "iam", "policy", "--config", bad); err == nil || !strings.Contains(err.Error(), "AWS::CodeBuild::Project") {
		t.Errorf("iam policy for an unreadable kind: %v", err)
	}
}

// rules generate --out writes the forwarding rules of the global kinds beside
// the main file; init writes them with the rest; the config init writes reads
// them where their events arrive, so config validate has nothing to warn.
func TestGlobalKindsGetForwardingRules(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rules.yaml")
	if _, stderr, err := runCLISplit(t, "rules", "generate", "--kinds", "iam-role,s3-bucket", "--out", out); err != nil || !strings.Contains(stderr, "rules.us-east-1.yaml: deploy it in us-east-1") {
		t.Fatalf("rules generate: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "rules.us-east-1.yaml"))
	if err != nil || !strings.Contains(string(data), "port-aws-exporter-sync-iam-role-forward") || strings.Contains(string(data), "s3-bucket") {
		t.Fatalf("forwarding template: %v\n%s", err, data)
	}
	tfOut := filepath.Join(dir, "tf", "rules.tf")
	if _, _, err := runCLISplit(t, "rules", "generate", "--kinds", "iam-role", "--format", "terraform", "--out", tfOut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tf", "port-aws-exporter-forwarding-us-east-1", "main.tf")); err != nil {
		t.Errorf("Terraform forwarding module: %v", err)
	}
	// Regional kinds only: no forwarding file.
	regional := filepath.Join(t.TempDir(), "rules.yaml")
	if _, _, err := runCLISplit(t, "rules", "generate", "--kinds", "s3-bucket", "--out", regional); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(regional), "*.yaml")); len(matches) != 1 {
		t.Errorf("regional kinds wrote %v", matches)
	}

	initDir := filepath.Join(t.TempDir(), "port")
	if _, _, err := runCLISplit(t, "init", "--kinds", "iam-role,cloudfront-distribution,sqs-queue", "--dir", initDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(initDir, "port-aws-exporter-rules.us-east-1.yaml")); err != nil {
		t.Errorf("init: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(initDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(raw, config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	problems, warnings := config.CheckCatalog(cfg)
	if len(problems)+len(warnings)+len(cfg.Warnings) > 0 {
		t.Errorf("init's config: problems %v, warnings %v %v", problems, warnings, cfg.Warnings)
	}
}
