package main

import (
	"bytes"
	"strings"
	"testing"
)

// runDemoCommand runs the demo in-process with args.
func runDemoCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newDemoCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestDemo(t *testing.T) {
	out, err := runDemoCommand(t)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"== First sync", "== What landed in the catalog", "== Second sync", "Catalog now holds"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "FAILED") {
			t.Errorf("a shard failed in the demo: %s", line)
		}
	}
}
