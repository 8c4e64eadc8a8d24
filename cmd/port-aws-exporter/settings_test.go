package main

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/plan"
)

// captureBuild replaces the wiring with one that records the options a
// command hands it and stops the command there.
func captureBuild(t *testing.T) *[]exporter.Options {
	t.Helper()
	var got []exporter.Options
	errStop := errors.New("stopped before the wiring")
	build = func(_ context.Context, opts exporter.Options) (*exporter.Built, error) {
		got = append(got, opts)
		return nil, errStop
	}
	t.Cleanup(func() { build = exporter.Build })
	return &got
}

// A share of 0 reaches the built settings as 0 (it once became 0.5), from
// the command line and from MAX_DELETE_SHARE, in every command that syncs;
// every other setting is explicit too.
func TestZeroDeleteShareReachesTheBuiltSettings(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"sync flag", []string{"sync", "--config", "c.json", "--max-delete-share", "0"}, nil},
		{"sync variable", []string{"sync", "--config", "c.json"}, map[string]string{"MAX_DELETE_SHARE": "0"}},
		{"handle flag", []string{"handle", "--config", "c.json", "--max-delete-share", "0", "testdata/bad-input/message-not-json.txt"}, nil},
		{"serve variable", []string{"serve", "--config", "c.json", "--queue-url", "http://127.0.0.1:1/q"}, map[string]string{"MAX_DELETE_SHARE": "0"}},
		{"lambda variable", []string{"lambda"}, map[string]string{"MAX_DELETE_SHARE": "0", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}},
		{"flag wins over variable", []string{"sync", "--config", "c.json", "--max-delete-share", "0"}, map[string]string{"MAX_DELETE_SHARE": "0.9"}},
	}
	if len(cases) < 6 {
		t.Fatalf("%d cases, want 6", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolateCLIEnvironment(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			got := captureBuild(t)
			if _, err := runCLI(t, c.args...); err == nil || err.Error() != "stopped before the wiring" {
				t.Fatalf("%v: %v, want the command to reach the wiring", c.args, err)
			}
			if len(*got) != 1 {
				t.Fatalf("the wiring was called %d times, want once", len(*got))
			}
			s := (*got)[0].Sync
			if s.MaxDeleteShare != 0 || !s.MaxDeleteShareGiven {
				t.Errorf("MaxDeleteShare = %v (given %v), want 0, given", s.MaxDeleteShare, s.MaxDeleteShareGiven)
			}
			if s.Policy != plan.Policies["sync"] || s.Concurrency != 4 || !math.IsInf(s.AWSRequestsPerSecond, 1) || !math.IsInf(s.PortRequestsPerSecond, 1) {
				t.Errorf("settings %+v: want the flag definitions' defaults (sync policy, 4 shards, no AWS ceiling and 116.67 Port requests per second)", s)
			}
		})
	}
}

// Every flag default and variable lands in the built settings as given.
func TestSettingsFromTheEnvironmentReachTheWiring(t *testing.T) {
	isolateCLIEnvironment(t)
	for k, v := range map[string]string{
		"SYNC_CONCURRENCY": "7", "SYNC_POLICY": "upsert-only", "MAX_DELETE_SHARE": "0.25",
		"AWS_REQUESTS_PER_SECOND": "3", "PORT_REQUESTS_PER_SECOND": "9", "EVENT_CONCURRENCY": "5",
	} {
		t.Setenv(k, v)
	}
	got := captureBuild(t)
	if _, err := runCLI(t, "serve", "--config", "c.json", "--queue-url", "http://127.0.0.1:1/q"); err == nil {
		t.Fatal("serve went past the wiring")
	}
	if len(*got) != 1 {
		t.Fatalf("the wiring was called %d times, want once", len(*got))
	}
	o := (*got)[0]
	// MAX_DELETE_SHARE was given: it wins over a port-app-config's entityDeletionThreshold.
	want := exporter.SyncSettings{Concurrency: 7, Policy: plan.Policies["upsert-only"], MaxDeleteShare: 0.25, MaxDeleteShareGiven: true, AWSRequestsPerSecond: 3, PortRequestsPerSecond: 9}
	if o.Sync != want {
		t.Errorf("sync settings %+v, want %+v", o.Sync, want)
	}
	if o.Events == nil || o.Events.Concurrency != 5 {
		t.Errorf("event settings %+v, want concurrency 5", o.Events)
	}
	if o.Metrics == nil || !o.NeedPort || o.OneShot {
		t.Errorf("serve options: metrics %v, need Port %v, one-shot %v; want metrics, Port, not one-shot", o.Metrics != nil, o.NeedPort, o.OneShot)
	}
}

// Without --max-delete-share or MAX_DELETE_SHARE the share is the default,
// marked not given, so that a port-app-config's entityDeletionThreshold can
// take its place.
func TestDeleteShareNotGiven(t *testing.T) {
	isolateCLIEnvironment(t)
	got := captureBuild(t)
	if _, err := runCLI(t, "sync", "--config", "c.json"); err == nil || err.Error() != "stopped before the wiring" {
		t.Fatalf("sync: %v", err)
	}
	if s := (*got)[0].Sync; s.MaxDeleteShare != 0.5 || s.MaxDeleteShareGiven {
		t.Errorf("share %v, given %v; want the default 0.5, not given", s.MaxDeleteShare, s.MaxDeleteShareGiven)
	}
}
