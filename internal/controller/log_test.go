package controller_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// serve and Lambda have no summary table: a shard that fails to list must
// say why in the logs, once, with its errors.
func TestFailedShardIsLoggedWithItsErrors(t *testing.T) {
	tb := newTestbed(t, testConfig, 2)
	var buf bytes.Buffer
	tb.parts.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tb.emu.SetFault(cloudcontrol.Scope{Region: "eu-west-1"}, cloudcontrol.AccessDenied)
	tb.run(t)

	failed := map[string]string{}
	synced := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct {
			Msg, Level, Shard string
			Errors            []string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		switch line.Msg {
		case "shard failed":
			if line.Level != "ERROR" {
				t.Errorf("%s: shard failed at level %s", line.Shard, line.Level)
			}
			failed[line.Shard] = strings.Join(line.Errors, "; ")
		case "shard synced":
			synced[line.Shard] = true
		}
	}
	if len(failed) != 3 || len(synced) != 3 {
		t.Fatalf("failed shards logged %v, synced %v: want the 3 kinds of eu-west-1 failed and of us-east-1 synced", failed, synced)
	}
	for shard, errs := range failed {
		if !strings.Contains(shard, "/eu-west-1/") || !strings.Contains(errs, "AccessDenied") {
			t.Errorf("shard %s logged as failed with %q, want an eu-west-1 shard with AccessDenied", shard, errs)
		}
	}
}

// Without AWS_REGION and without selector.aws.regions the sync must say so,
// not call Cloud Control in region "".
func TestNoRegionAnywhereIsAClearError(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"resources": [{"kind": "AWS::SQS::Queue",
  "port": {"entity": {"mappings": [{"identifier": ".QueueName", "blueprint": "\"queue\""}]}}}]}`), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := controller.New(controller.Parts{Mapper: mapper, AccountID: account, Source: &source.CloudControl{}, Target: &target.DryRun{}},
		controller.Settings{Concurrency: 1, WriteConcurrency: 1, Policy: plan.Sync{}, MaxDeleteShare: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Shards()
	if err == nil || !strings.Contains(err.Error(), "AWS::SQS::Queue: no region configured and no default region") {
		t.Fatalf("Shards = %v, want the kind named with no region", err)
	}
}

// A mapping error is logged once, where it happens; the shard's closing line
// counts it instead of repeating it.
func TestMappingErrorIsLoggedOnce(t *testing.T) {
	cfg := strings.Replace(testConfig, `"memorySize": ".MemorySize"`,
		`"memorySize": "if .MemorySize == 129 then error(\"memory-129-is-refused\") else .MemorySize end"`, 1)
	tb := newTestbed(t, cfg, 3)
	var buf bytes.Buffer
	tb.parts.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	report := tb.run(t)
	if report.OK() {
		t.Fatal("the mapping error was not reported")
	}
	// One function of each region has MemorySize 129.
	n := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "memory-129-is-refused") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the error appears %d times in the logs, want 2 (once per region):\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `"errors_logged_above":1`) || strings.Contains(buf.String(), `"errors":[]`) {
		t.Errorf("the shard's closing line does not count the error logged above:\n%s", buf.String())
	}
}
