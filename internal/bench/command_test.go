package bench

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBenchCommandEndToEnd builds cmd/bench and runs it the way a user
// does: the sync scenario's exporter in a child process with the sync
// command's wiring, then the mapping scenario, both shrunk to seconds.
func TestBenchCommandEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH: cannot build the binary")
	}
	bin := filepath.Join(t.TempDir(), "bench")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "github.com/port-labs/port-aws-exporter/cmd/bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	run := exec.CommandContext(t.Context(), bin, "--scenario", "full-sync,mapping", "--resources", "80", "--json", "--log-level", "warn")
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var results []json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil || len(results) != 2 {
		t.Fatalf("bench --json printed %d results (%v):\n%s", len(results), err, stdout.String())
	}
	var sync Result
	if err := json.Unmarshal(results[0], &sync); err != nil {
		t.Fatal(err)
	}
	if sync.Run.Upserted != 80 || sync.Resources != 80 {
		t.Errorf("sync upserted %d of %d", sync.Run.Upserted, sync.Resources)
	}
	if sync.Ratio < 1 || sync.PeakRSS <= 0 || sync.AWSRequests < sync.Bound.AWSRequests {
		t.Errorf("sync figures: ratio %.2f, peak RSS %d, AWS requests %d (bound %d)", sync.Ratio, sync.PeakRSS, sync.AWSRequests, sync.Bound.AWSRequests)
	}
	var mapping MappingResult
	if err := json.Unmarshal(results[1], &mapping); err != nil {
		t.Fatal(err)
	}
	if mapping.Documents != 80 || mapping.Ours.Entities != 80 {
		t.Errorf("mapping: %d documents, %d entities", mapping.Documents, mapping.Ours.Entities)
	}
	if bytes.Contains(stdout.Bytes(), []byte("client-secret")) || bytes.Contains(stderr.Bytes(), []byte("client-secret")) {
		t.Error("the Port double's client secret was printed")
	}
}
