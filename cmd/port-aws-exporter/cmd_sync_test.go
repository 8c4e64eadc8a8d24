package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// runCLI runs the binary's command tree in-process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigValidateReportsEveryProblemWithItsPath(t *testing.T) {
	path := writeFile(t, "config.json", `{
  "resources": [
    {"kind": "AWS::Lambda::Function",
     "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "\"lambda\"", "properties": {"arn": ".Arn"}}]}}},
    {"kind": "AWS::S3::Bucket",
     "port": {"entity": {"mappings": [{"identifier": ".BucketName", "blueprint": "\"bucket\"",
       "properties": {"arn": ".Arn | ", "region": ".Region"}}]}}},
    {"kind": "",
     "port": {"entity": {"mappings": [{"blueprint": "\"x\""}]}}}
  ]
}`)
	out, err := runCLI(t, "config", "validate", "--config", path)
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != 1 {
		t.Fatalf("exit = %v, want code 1\n%s", err, out)
	}
	for _, want := range []string{
		"resources[1].port.entity.mappings[0].properties.arn:",
		"resources[2].kind:",
		"resources[2].port.entity.mappings[0].identifier:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "resources[0]") {
		t.Errorf("the valid resource was reported:\n%s", out)
	}

	valid := writeFile(t, "ok.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "\"lambda\""}]}}}]}`)
	if out, err := runCLI(t, "config", "validate", "--config", valid); err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("valid config: %v\n%s", err, out)
	}
}

func TestSyncRefusesAnInvalidConfig(t *testing.T) {
	path := writeFile(t, "config.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName | ", "blueprint": "\"lambda\""}]}}}]}`)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	_, err := runCLI(t, "sync", "--config", path, "--out-file", filepath.Join(t.TempDir(), "out.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "resources[0].port.entity.mappings[0].identifier") {
		t.Fatalf("sync started on an invalid config: %v", err)
	}
}

// awsFromEnvironment starts the demo Cloud Control emulator and points the SDK
// at it (and at moto for STS) through the standard environment variables, the
// way a user points the exporter at AWS.
func awsFromEnvironment(t *testing.T, region string) *cloudcontrol.Emulator {
	t.Helper()
	m := moto.Start(t)
	emu, err := cloudcontrol.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDCONTROL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL) // the emulator answers GetBucketLocation
	t.Setenv("AWS_ENDPOINT_URL_STS", m.URL)
	return emu
}

// TestSyncToJSONLines runs `sync --output` with the standard AWS environment
// pointing the SDK at the Cloud Control emulator and at moto for STS: the
// same way a user points it at AWS.
func TestSyncToJSONLines(t *testing.T) {
	emu := awsFromEnvironment(t, "eu-west-1")
	t.Setenv("PORT_CLIENT_ID", "")
	t.Setenv("PORT_CLIENT_SECRET", "")

	cfg := writeFile(t, "config.yaml", `
resources:
  - kind: AWS::Lambda::Function
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          - identifier: .FunctionName
            title: .FunctionName
            blueprint: '"lambda"'
            properties:
              runtime: .Runtime
              memory: .MemorySize
`)
	out := filepath.Join(t.TempDir(), "entities.jsonl")
	stdout, err := runCLI(t, "sync", "--config", cfg, "--out-file", out)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, r := range emu.Resources("eu-west-1", "AWS::Lambda::Function") {
		want[r.Identifier] = true
	}
	got := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Blueprint, Identifier, Datasource string
			Properties                        map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if line.Blueprint != "lambda" || line.Properties["runtime"] == nil {
			t.Errorf("line = %+v", line)
		}
		if !strings.Contains(line.Datasource, "region/eu-west-1 kind/AWS::Lambda::Function)") {
			t.Errorf("datasource = %q", line.Datasource)
		}
		got[line.Identifier] = true
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("wrote %v, want %v", got, want)
	}
	if !strings.Contains(stdout, "AWS::Lambda::Function") || !strings.Contains(stdout, "TOTAL") {
		t.Errorf("no summary table:\n%s", stdout)
	}
}

// TestSyncIntoPort runs `sync` as a user would: credentials and endpoints from
// the environment, a dry run first, then the real run, then a run with a
// region denied, which must exit non-zero.
func TestSyncIntoPort(t *testing.T) {
	emu := awsFromEnvironment(t, "us-east-1")
	double := portapi.New(portapi.Options{})
	defer double.Close()
	if err := double.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {"runtime": {"type": "string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORT_API_URL", double.URL())
	t.Setenv("PORT_CLIENT_ID", double.ClientID())
	t.Setenv("PORT_CLIENT_SECRET", double.ClientSecret())
	cfg := writeFile(t, "config.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "\"lambda\"", "properties": {"runtime": ".Runtime"}}]}}}]}`)
	want := len(emu.Resources("us-east-1", "AWS::Lambda::Function")) + len(emu.Resources("eu-west-1", "AWS::Lambda::Function"))

	out, err := runCLI(t, "sync", "--config", cfg, "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if n := len(double.Entities("lambda")); n != 0 {
		t.Fatalf("dry run wrote %d entities", n)
	}
	if !strings.Contains(out, "Plan (dry run, nothing written)") || !strings.Contains(out, "  + lambda/orders-api-use1\n") ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)^\s+TOTAL\s+%d\s+0\s+%d\s+%d\s+0\s+0\s+0\s`, want, want, want)).MatchString(out) {
		t.Errorf("dry run plan:\n%s", out)
	}
	if strings.Contains(out, double.ClientSecret()) {
		t.Fatal("the client secret was printed")
	}

	out, err = runCLI(t, "sync", "--config", cfg)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	// The pace found, under the table: each region's, and the budget the
	// double's headers state (35,000 per 5 minutes).
	if !regexp.MustCompile(`(?m)^PACE cloud control eu-west-1 [0-9.]+/s \(\d+ throttled, \d+ cuts\), cloud control us-east-1 [0-9.]+/s .*, port 116\.67/s$`).MatchString(out) {
		t.Errorf("no PACE line with both regions and Port's budget:\n%s", out)
	}
	if n := len(double.Entities("lambda")); n != want {
		t.Fatalf("Port has %d lambda entities, want %d", n, want)
	}
	// Against what the run wrote, a dry run finds nothing to change.
	out, err = runCLI(t, "sync", "--config", cfg, "--dry-run")
	if err != nil || !strings.Contains(out, "  = 3 unchanged\n") || strings.Contains(out, "  + lambda/") {
		t.Fatalf("dry run after the sync: %v\n%s", err, out)
	}

	emu.SetFault(cloudcontrol.Scope{Region: "eu-west-1"}, cloudcontrol.AccessDenied)
	out, err = runCLI(t, "sync", "--config", cfg)
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != 1 {
		t.Fatalf("sync with a denied region: err = %v, want exit code 1\n%s", err, out)
	}
	if !strings.Contains(out, "FAILED") || !strings.Contains(out, "AccessDenied") {
		t.Errorf("the failing shard is not reported:\n%s", out)
	}
	if n := len(double.Entities("lambda")); n != want {
		t.Errorf("Port has %d lambda entities after the failed run, want %d (nothing deleted)", n, want)
	}
}

// Credentials Port rejects stop the sync before it reads AWS, and the secret
// shows nowhere, even at debug level.
func TestSyncStopsOnRejectedPortCredentials(t *testing.T) {
	const secret = "SuperSecretValue123"
	emu := awsFromEnvironment(t, "us-east-1")
	double := portapi.New(portapi.Options{})
	defer double.Close()
	t.Setenv("PORT_API_URL", double.URL())
	t.Setenv("PORT_CLIENT_ID", double.ClientID())
	t.Setenv("PORT_CLIENT_SECRET", secret)
	cfg := writeFile(t, "config.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "\"lambda\""}]}}}]}`)

	out, err := runCLI(t, "sync", "--config", cfg, "--log-level", "debug", "--log-format", "json")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "rejected by Port") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("sync with a wrong secret: %v, want exit 1 naming Port's 401\n%s", err, out)
	}
	if n := emu.TotalCounts(); n.Calls != 0 {
		t.Errorf("Cloud Control was called %d times before the credentials were checked", n.Calls)
	}
	if !strings.Contains(out, `"msg":"Port credentials loaded"`) {
		t.Fatalf("the command's logs were not captured, so they cannot be checked for the secret:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(err.Error(), secret) {
		t.Errorf("the client secret was printed:\n%s\n%v", out, err)
	}
}
