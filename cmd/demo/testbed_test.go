package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/blueprints"
	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/testbed/output"
)

// demo --testbed prints an environment and two commands; run with exactly
// that environment, the exporter's own wiring applies the blueprints and
// syncs every shard (7 kinds × 3 regions) with no other peer.
func TestTestbedEnvironmentSyncs(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cmd := newDemoCommand()
	var out output.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--testbed", "--dir", t.TempDir()})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo --testbed: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "# Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("demo --testbed printed no instructions in 30 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var configPath, blueprintsPath string
	for _, line := range strings.Split(out.String(), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 1 && fields[0] == "export":
			for _, kv := range fields[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("export line with %q", kv)
				}
				t.Setenv(k, v)
			}
		case len(fields) == 4 && fields[1] == "sync" && fields[2] == "--config":
			configPath = fields[3]
		case len(fields) == 5 && fields[1] == "blueprints" && fields[3] == "--file":
			blueprintsPath = fields[4]
		}
	}
	if configPath == "" || blueprintsPath == "" || os.Getenv("AWS_ENDPOINT_URL") == "" || os.Getenv("PORT_CLIENT_SECRET") == "" {
		t.Fatalf("the instructions lack the environment or the commands:\n%s", out.String())
	}
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)

	rt, err := exporter.Build(t.Context(), exporter.Options{ConfigLocation: configPath, NeedPort: true, OneShot: true, Sync: cli.SyncDefaults()})
	if err != nil {
		t.Fatalf("build with the printed environment: %v", err)
	}
	data, err := os.ReadFile(blueprintsPath)
	if err != nil {
		t.Fatal(err)
	}
	bps, err := blueprints.Parse(data, blueprintsPath)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := blueprints.NewPlan(t.Context(), rt.Port, bps, blueprints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(t.Context(), rt.Port); err != nil {
		t.Fatalf("apply blueprints: %v", err)
	}
	report, err := rt.Controller.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Shards) != 21 {
		t.Errorf("synced %d shards, want 21 (7 kinds × 3 regions)", len(report.Shards))
	}
	upserted := 0
	for _, s := range report.Shards {
		if !s.OK() {
			t.Errorf("shard %s failed: %v", s.Shard, s.Errors)
		}
		upserted += s.Upserted
	}
	if upserted < 27 {
		t.Errorf("upserted %d entities, want the dataset's 27", upserted)
	}
}
