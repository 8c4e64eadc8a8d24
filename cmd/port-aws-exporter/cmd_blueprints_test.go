package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

func portFromEnvironment(t *testing.T) *portapi.Server {
	t.Helper()
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	t.Setenv("PORT_API_URL", double.URL())
	t.Setenv("PORT_CLIENT_ID", double.ClientID())
	t.Setenv("PORT_CLIENT_SECRET", double.ClientSecret())
	t.Setenv("PORT_CREDS_SECRET_ARN", "")
	return double
}

// The first hour of a new user: init writes the files, sync refuses to
// start (before any Cloud Control call) because Port has no blueprints and
// says how to fix it, blueprints apply --dry-run shows the plan and changes
// nothing, blueprints apply creates them, and sync then runs. A property the
// config maps and the blueprint lacks stops the sync the same way.
func TestBlueprintsApplyAndTheSyncPreflight(t *testing.T) {
	emu := awsFromEnvironment(t, "us-east-1")
	double := portFromEnvironment(t)
	dir := t.TempDir()
	if out, err := runCLI(t, "init", "--kinds", "lambda-function,s3-bucket", "--dir", dir); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config.json")
	file := filepath.Join(dir, "blueprints.json")

	out, err := runCLI(t, "sync", "--config", cfg)
	if err == nil {
		t.Fatalf("sync started without the blueprints:\n%s", out)
	}
	for _, want := range []string{
		`resources[0].port.entity.mappings[0].blueprint: blueprint "awsLambdaFunction" does not exist in Port`,
		`resources[1].port.entity.mappings[0].blueprint: blueprint "awsS3Bucket" does not exist in Port`,
		"blueprints apply --file blueprints.json",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%v", want, err)
		}
	}
	if n := emu.TotalCounts().Calls; n != 0 {
		t.Fatalf("Cloud Control was called %d times before the blueprints were checked", n)
	}

	out, err = runCLI(t, "blueprints", "apply", "--file", file, "--dry-run")
	if err != nil || !strings.Contains(out, "+ awsLambdaFunction (new)") || !strings.Contains(out, "Dry run: nothing was changed.") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if n := double.Count(portapi.RouteCreateBlueprint, 0); n != 0 {
		t.Fatalf("the dry run sent %d creates", n)
	}
	out, err = runCLI(t, "blueprints", "apply", "--file", file)
	if err != nil || !strings.Contains(out, "2 to create, 0 to change, 0 unchanged") || !strings.Contains(out, "Applied 2 request(s).") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if strings.Contains(out, double.ClientSecret()) {
		t.Fatal("the client secret was printed")
	}
	if out, err = runCLI(t, "blueprints", "apply", "--file", file); err != nil || !strings.Contains(out, "0 to create, 0 to change, 2 unchanged") {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "sync", "--config", cfg); err != nil {
		t.Fatalf("sync after apply: %v\n%s", err, out)
	}
	if len(double.Entities("awsLambdaFunction")) == 0 {
		t.Fatal("the sync wrote no lambda entity")
	}

	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"properties": {`, `"properties": {"codeSha": ".CodeSha256",`, 1)
	if edited == string(data) {
		t.Fatal("could not add a property to the config")
	}
	if err := os.WriteFile(cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	emu.ResetCounts()
	_, err = runCLI(t, "sync", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), `resources[0].port.entity.mappings[0].properties.codeSha: blueprint "awsLambdaFunction" has no property "codeSha"`) {
		t.Fatalf("sync with a property the blueprint lacks: %v", err)
	}
	if n := emu.TotalCounts().Calls; n != 0 {
		t.Errorf("Cloud Control was called %d times before the blueprints were checked", n)
	}
}

func TestInitApply(t *testing.T) {
	double := portFromEnvironment(t)
	t.Setenv("AWS_REGION", "us-east-1")
	dir := t.TempDir()
	out, err := runCLI(t, "init", "--kinds", "ecs-cluster,ecs-service", "--dir", dir, "--apply")
	if err != nil {
		t.Fatalf("init --apply: %v\n%s", err, out)
	}
	if !strings.Contains(out, "+ awsEcsCluster (new)") || !strings.Contains(out, "Applied 2 request(s).") {
		t.Errorf("init --apply output:\n%s", out)
	}
	if n := double.Count(portapi.RouteCreateBlueprint, 201); n != 2 {
		t.Errorf("%d blueprints created, want 2", n)
	}
}

func TestBlueprintsApplyRefusesABadFile(t *testing.T) {
	double := portFromEnvironment(t)
	for _, tc := range []struct{ doc, want string }{
		{`[{"identifier": "a"}]`, "[0].title: a title is required"},
		{`[{"identifier": "a", "title": "A", "schema": {"properties": {}}, "relations": {"r": {"target": "nowhere"}}}]`, `target blueprint "nowhere" is neither in the file nor in Port`},
	} {
		path := writeFile(t, "blueprints.json", tc.doc)
		if _, err := runCLI(t, "blueprints", "apply", "--file", path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
	if _, err := runCLI(t, "blueprints", "apply"); err == nil || !strings.Contains(err.Error(), "--file is required") {
		t.Errorf("no --file: %v", err)
	}
	if n := double.Count(portapi.RouteCreateBlueprint, 0); n != 0 {
		t.Errorf("%d creates sent for bad files", n)
	}
}

// serve stops at start, before any AWS call, when a mapped blueprint is
// missing in Port.
func TestServeStopsOnAMissingBlueprint(t *testing.T) {
	s, _, _ := eventsEnvironment(t)
	cfg := writeFile(t, "config.json", `{"resources": [{"kind": "AWS::Lambda::Function",
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "nope"}]}}}]}`)
	_, err := runCLI(t, "serve", "--config", cfg, "--queue-url", "http://127.0.0.1:1/q", "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), `resources[0].port.entity.mappings[0].blueprint: blueprint "nope" does not exist in Port`) {
		t.Fatalf("serve with a missing blueprint: %v", err)
	}
	if n := s.CC.TotalCounts().Calls; n != 0 {
		t.Errorf("Cloud Control was called %d times", n)
	}
}
