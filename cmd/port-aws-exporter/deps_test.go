package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The product binary (the Lambda bootstrap among others) links no test
// harness: the Cloud Control emulator, the Port double and the benchmarks
// belong to cmd/demo and cmd/bench.
func TestBinaryLinksNoTestHarness(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH: cannot list the binary's packages")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	const module = "github.com/port-labs/port-aws-exporter/"
	var own int
	for _, p := range deps {
		if !strings.HasPrefix(p, module) {
			continue
		}
		own++
		rel := strings.TrimPrefix(p, module)
		if rel == "internal/testbed" || strings.HasPrefix(rel, "internal/testbed/") || rel == "internal/bench" ||
			strings.HasPrefix(rel, "internal/bench/") || rel == "internal/dispatch/dispatchtest" {
			t.Errorf("the product binary links %s", p)
		}
	}
	// The list must be the real one: the binary's own packages and the wiring are in it.
	for _, want := range []string{module + "cmd/port-aws-exporter", module + "internal/exporter", module + "internal/controller"} {
		found := false
		for _, p := range deps {
			found = found || p == want
		}
		if !found {
			t.Errorf("go list -deps lacks %s (%d packages of the module listed)", want, own)
		}
	}
}
