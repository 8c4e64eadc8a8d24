package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/port-labs/port-aws-exporter/internal/cli"
)

// runCLISplit runs the command tree with stdout and stderr apart.
func runCLISplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errs.String(), err
}

func linesWith(s, sub string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

// --summary json is the only thing on stdout, parses, and follows its
// schema; logs and progress go to stderr, where a mapping error appears
// once; --quiet leaves stdout empty and stderr with the error only.
func TestSyncSummaryJSONAndQuiet(t *testing.T) {
	awsFromEnvironment(t, "us-east-1")
	double := portFromEnvironment(t)
	if err := double.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {"runtime": {"type": "string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "config.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "lambda",
    "properties": {"runtime": "if .FunctionName == \"orders-api-use1\" then error(\"refused-orders\") else .Runtime end"}}]}}}]}`)

	stdout, stderr, err := runCLISplit(t, "sync", "--config", cfg, "--summary", "json")
	if exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1 (a mapping failed)\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	schema, err := jsonschema.CompileString("summary.schema.json", string(cli.SummarySchema))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("the summary does not follow its schema: %v\n%s", err, stdout)
	}
	var s cli.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.OK || !s.Compared || s.DryRun || len(s.Shards) != 2 || s.Total.Listed != 6 || s.Total.New != 5 || s.Total.Upserted != 5 || s.Total.Failed != 1 {
		t.Errorf("summary %+v", s)
	}
	failed := 0
	for _, sh := range s.Shards {
		if sh.Status == "failed" {
			failed++
			if len(sh.Errors) != 1 || !strings.Contains(sh.Errors[0], "refused-orders") || sh.Region != "us-east-1" {
				t.Errorf("failed shard %+v", sh)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed shards, want 1", failed)
	}
	if n := linesWith(stderr, "refused-orders"); n != 1 {
		t.Errorf("the mapping error is on %d lines of stderr, want 1:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "[2/2]") {
		t.Errorf("no progress lines on stderr:\n%s", stderr)
	}

	stdout, stderr, err = runCLISplit(t, "sync", "--config", cfg, "--quiet")
	if exitCode(err) != 1 || stdout != "" {
		t.Fatalf("--quiet: exit %v, stdout %q", err, stdout)
	}
	if n := linesWith(stderr, "refused-orders"); n != 1 || strings.Contains(stderr, "[1/2]") || strings.Contains(stderr, "shard synced") {
		t.Errorf("--quiet stderr (want the error once, no progress, no info logs):\n%s", stderr)
	}
	// The second run found the first run's 5 entities: unchanged.
	stdout, _, _ = runCLISplit(t, "sync", "--config", cfg, "--summary", "json")
	if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.Total.Unchanged != 5 || s.Total.New != 0 {
		t.Errorf("third run: %v %+v", err, s.Total)
	}
	if _, _, err := runCLISplit(t, "sync", "--config", cfg, "--summary", "yaml"); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Errorf("--summary yaml: %v", err)
	}
}
