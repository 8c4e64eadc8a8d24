package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const account = "123456789012"

var regions = []string{"us-east-1", "eu-west-1"}

// testConfig maps three kinds in two regions, the way Port's exporter configs do.
const testConfig = `{
  "resources": [
    {"kind": "AWS::Lambda::Function",
     "selector": {"query": "true", "aws": {"regions": ["us-east-1", "eu-west-1"]}},
     "port": {"entity": {"mappings": [{
       "identifier": ".FunctionName", "title": ".FunctionName", "blueprint": "\"lambda\"",
       "properties": {"arn": ".Arn", "runtime": ".Runtime", "memorySize": ".MemorySize"}}]}}},
    {"kind": "AWS::SQS::Queue",
     "selector": {"query": "true", "aws": {"regions": ["us-east-1", "eu-west-1"]}},
     "port": {"entity": {"mappings": [{
       "identifier": ".QueueName", "title": ".QueueName", "blueprint": "\"queue\"",
       "properties": {"arn": ".Arn", "url": ".QueueUrl"}}]}}},
    {"kind": "AWS::DynamoDB::Table",
     "selector": {"query": ".TableName | startswith(\"tmp-\") | not", "aws": {"regions": ["us-east-1", "eu-west-1"]}},
     "port": {"entity": {"mappings": [{
       "identifier": ".TableName", "title": ".TableName", "blueprint": "\"table\"",
       "properties": {"arn": ".Arn"}}]}}}
  ]
}`

var blueprints = []string{
	`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {"arn": {"type": "string"}, "runtime": {"type": "string"}, "memorySize": {"type": "number"}}}}`,
	`{"identifier": "queue", "title": "Queue", "schema": {"properties": {"arn": {"type": "string"}, "url": {"type": "string"}}}}`,
	`{"identifier": "table", "title": "Table", "schema": {"properties": {"arn": {"type": "string"}}}}`,
}

type testbed struct {
	emu  *cloudcontrol.Emulator
	aws  *cloudcontrol.Server
	port *portapi.Server
	// parts and settings build the controller of each run, so a test can
	// change them between runs.
	parts    controller.Parts
	settings controller.Settings
}

// newTestbed wires the real Cloud Control reader (AWS SDK over HTTP) and the
// real Port client to the emulator and the Port double.
func newTestbed(t *testing.T, configJSON string, functionsPerRegion int) *testbed {
	t.Helper()
	emu := cloudcontrol.New()
	emu.SetPageSize(3)
	for _, region := range regions {
		for i := 0; i < functionsPerRegion; i++ {
			name := fmt.Sprintf("fn-%s-%02d", region, i)
			put(t, emu, region, "AWS::Lambda::Function", name, map[string]any{
				"FunctionName": name, "Arn": "arn:aws:lambda:" + region + ":" + account + ":function:" + name,
				"Runtime": "python3.12", "MemorySize": 128 + i,
			})
		}
		for i := 0; i < 4; i++ {
			name := fmt.Sprintf("q-%s-%d", region, i)
			url := "https://sqs." + region + ".amazonaws.com/" + account + "/" + name
			put(t, emu, region, "AWS::SQS::Queue", url, map[string]any{
				"QueueName": name, "QueueUrl": url, "Arn": "arn:aws:sqs:" + region + ":" + account + ":" + name,
			})
		}
		for _, name := range []string{"orders-" + region, "users-" + region, "tmp-scratch-" + region} {
			put(t, emu, region, "AWS::DynamoDB::Table", name, map[string]any{
				"TableName": name, "Arn": "arn:aws:dynamodb:" + region + ":" + account + ":table/" + name,
			})
		}
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	for _, bp := range blueprints {
		if err := double.AddBlueprint([]byte(bp)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse([]byte(configJSON), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := source.NewCloudControl(srv.AWSConfig("us-east-1"), source.Options{
		RequestsPerSecond: -1, BackoffBase: time.Millisecond, BackoffCap: 20 * time.Millisecond, MaxRetries: 12,
	})
	client, err := port.New(port.Config{
		BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret(),
		RequestsPerSecond: -1, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testbed{emu: emu, aws: srv, port: double,
		parts: controller.Parts{Mapper: mapper, Source: src, Target: target.NewPort(client, port.UpsertOptions{}, port.DeleteOptions{}),
			AccountID: account, DefaultRegion: "us-east-1"},
		settings: controller.Settings{Concurrency: 4, WriteConcurrency: 16, Policy: plan.Sync{}, MaxDeleteShare: 0.5},
	}
}

func put(t *testing.T, emu *cloudcontrol.Emulator, region, kind, id string, props map[string]any) {
	t.Helper()
	if err := emu.Put(region, kind, id, props); err != nil {
		t.Fatal(err)
	}
}

func (tb *testbed) run(t *testing.T) controller.Report {
	t.Helper()
	c, err := controller.New(tb.parts, tb.settings)
	if err != nil {
		t.Fatal(err)
	}
	report, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// catalog renders what Port holds as sorted lines, to compare runs.
func (tb *testbed) catalog(t *testing.T) []string {
	t.Helper()
	var lines []string
	for _, bp := range []string{"lambda", "queue", "table"} {
		for _, e := range tb.port.Entities(bp) {
			props, _ := json.Marshal(e.Properties)
			lines = append(lines, fmt.Sprintf("%s/%s %s %s [%s]", bp, e.Identifier, e.Title, props, e.Datasource))
		}
	}
	sort.Strings(lines)
	return lines
}

func shardReport(t *testing.T, r controller.Report, kind, region string) controller.ShardReport {
	t.Helper()
	for _, s := range r.Shards {
		if s.Shard.Kind == kind && s.Shard.Region == region {
			return s
		}
	}
	t.Fatalf("no report for %s in %s", kind, region)
	return controller.ShardReport{}
}

func TestFullSyncLandsEveryResourceThroughPages(t *testing.T) {
	tb := newTestbed(t, testConfig, 11) // 11 functions over pages of 3
	report := tb.run(t)
	if !report.OK() {
		t.Fatalf("sync failed: %+v", report.Shards)
	}
	if len(report.Shards) != 6 {
		t.Fatalf("%d shards, want 3 kinds × 2 regions", len(report.Shards))
	}
	if got := len(tb.port.Entities("lambda")); got != 22 {
		t.Errorf("lambda entities = %d, want 22", got)
	}
	if got := len(tb.port.Entities("queue")); got != 8 {
		t.Errorf("queue entities = %d, want 8", got)
	}
	// The selector drops the tmp- tables.
	if got := len(tb.port.Entities("table")); got != 4 {
		t.Errorf("table entities = %d, want 4 (tmp- tables rejected by the selector)", got)
	}
	fn := shardReport(t, report, "AWS::Lambda::Function", "eu-west-1")
	if fn.Listed != 11 || fn.Upserted != 11 || fn.Deleted != 0 {
		t.Errorf("lambda eu-west-1 report = %+v", fn)
	}
	tables := shardReport(t, report, "AWS::DynamoDB::Table", "us-east-1")
	if tables.Listed != 3 || tables.Skipped != 1 || tables.Mapped != 2 {
		t.Errorf("table report = listed %d skipped %d mapped %d", tables.Listed, tables.Skipped, tables.Mapped)
	}
	e, ok := tb.port.Entity("lambda", "fn-eu-west-1-03")
	if !ok {
		t.Fatal("fn-eu-west-1-03 not in Port")
	}
	if e.Properties["memorySize"] != float64(131) || e.Properties["runtime"] != "python3.12" {
		t.Errorf("properties = %v", e.Properties)
	}
	want := registry.UserAgent(source.Shard{AccountID: account, Region: "eu-west-1", Kind: "AWS::Lambda::Function"})
	if e.Datasource != want {
		t.Errorf("datasource = %q, want %q", e.Datasource, want)
	}
}

func TestAccessDeniedRegionSyncsTheOthersAndDeletesNothingThere(t *testing.T) {
	tb := newTestbed(t, testConfig, 3)
	tb.run(t)
	before := len(tb.port.Entities("lambda"))
	// Entities of eu-west-1 that would look stale if the denied listing were taken as empty.
	euOwner := source.Shard{AccountID: account, Region: "eu-west-1", Kind: "AWS::Lambda::Function"}
	tb.port.Put(registry.UserAgent(euOwner), entity.Entity{Blueprint: "lambda", Identifier: "fn-eu-only-in-port", Properties: map[string]any{}})
	tb.emu.SetFault(cloudcontrol.Scope{Region: "eu-west-1"}, cloudcontrol.AccessDenied)
	put(t, tb.emu, "us-east-1", "AWS::Lambda::Function", "fn-new", map[string]any{"FunctionName": "fn-new", "Arn": "arn:new", "Runtime": "go", "MemorySize": 1})

	report := tb.run(t)
	if report.OK() {
		t.Fatal("a sync with a denied region reported success")
	}
	for _, s := range report.Shards {
		switch s.Shard.Region {
		case "eu-west-1":
			if s.OK() || !errors.Is(errors.Join(s.Errors...), source.ErrAccessDenied) {
				t.Errorf("%s: errors %v, want AccessDenied", s.Shard, s.Errors)
			}
			if s.Deleted != 0 || len(s.Plan.Deletes) != 0 {
				t.Errorf("%s: deleted %d in a failing shard", s.Shard, s.Deleted)
			}
		case "us-east-1":
			if !s.OK() {
				t.Errorf("%s failed: %v", s.Shard, s.Errors)
			}
		}
	}
	if _, ok := tb.port.Entity("lambda", "fn-eu-only-in-port"); !ok {
		t.Error("an entity of the denied shard was deleted")
	}
	if _, ok := tb.port.Entity("lambda", "fn-new"); !ok {
		t.Error("the healthy region's new function did not land")
	}
	if got := len(tb.port.Entities("lambda")); got != before+2 {
		t.Errorf("lambda entities = %d, want %d", got, before+2)
	}
}

func TestStaleEntityDeletedInHealthyShardOnly(t *testing.T) {
	tb := newTestbed(t, testConfig, 4)
	tb.run(t)
	// Someone else's entity in the same blueprint, and one of Port's old exporter.
	tb.port.Put("Port UI", entity.Entity{Blueprint: "lambda", Identifier: "hand-made", Properties: map[string]any{}})
	tb.port.Put("port-aws-exporter/0.1 (accountid/123456789012 region/us-east-1)", entity.Entity{Blueprint: "lambda", Identifier: "legacy", Properties: map[string]any{}})
	if !tb.emu.Delete("us-east-1", "AWS::Lambda::Function", "fn-us-east-1-02") {
		t.Fatal("emulator did not delete")
	}
	report := tb.run(t)
	if !report.OK() {
		t.Fatalf("sync failed: %+v", report)
	}
	if _, ok := tb.port.Entity("lambda", "fn-us-east-1-02"); ok {
		t.Error("stale entity was not deleted")
	}
	for _, id := range []string{"hand-made", "legacy", "fn-us-east-1-01", "fn-eu-west-1-02"} {
		if _, ok := tb.port.Entity("lambda", id); !ok {
			t.Errorf("%s was deleted but is not owned by the shard or still exists", id)
		}
	}
	if s := shardReport(t, report, "AWS::Lambda::Function", "us-east-1"); s.Deleted != 1 {
		t.Errorf("deleted = %d, want 1", s.Deleted)
	}
}

func TestEmptyListingNeverWipesTheShard(t *testing.T) {
	tb := newTestbed(t, testConfig, 3)
	tb.run(t)
	for _, r := range tb.emu.Resources("us-east-1", "AWS::Lambda::Function") {
		tb.emu.Delete("us-east-1", "AWS::Lambda::Function", r.Identifier)
	}
	report := tb.run(t)
	s := shardReport(t, report, "AWS::Lambda::Function", "us-east-1")
	if s.Deleted != 0 || len(s.Withheld) != 3 {
		t.Fatalf("deleted %d, withheld %d; want 0 and 3", s.Deleted, len(s.Withheld))
	}
	if got := len(tb.port.Entities("lambda")); got != 6 {
		t.Errorf("lambda entities = %d, want all 6 kept", got)
	}
}

func TestThrottledAWSAndRateLimitedPortGiveTheSameCatalog(t *testing.T) {
	clean := newTestbed(t, testConfig, 9)
	clean.run(t)
	want := clean.catalog(t)

	tb := newTestbed(t, testConfig, 9)
	tb.emu.SetThrottle(0.3, 42)
	tb.port.SetRateLimit(portapi.RateLimit{EveryNth: 3, RetryAfter: time.Second})
	report := tb.run(t)
	if !report.OK() {
		t.Fatalf("sync under throttling failed: %+v", report.Shards)
	}
	got := tb.catalog(t)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog differs under throttling:\n got %d lines\nwant %d lines\nfirst got %v", len(got), len(want), got[:min(3, len(got))])
	}
	if c := tb.emu.TotalCounts(); c.Throttled == 0 {
		t.Errorf("no call was throttled: %+v", c)
	}
	if n := tb.port.Count("", 429); n == 0 {
		t.Error("Port double answered no 429")
	}
}

func TestRunawayJQStopsItsShardOnly(t *testing.T) {
	cfg := strings.Replace(testConfig, `"url": ".QueueUrl"`, `"url": "[range(1e12)] | length"`, 1)
	tb := newTestbed(t, cfg, 2)
	start := time.Now()
	report := tb.run(t)
	if d := time.Since(start); d > 60*time.Second {
		t.Fatalf("sync took %s: the runaway expression was not stopped", d)
	}
	for _, s := range report.Shards {
		if s.Shard.Kind == "AWS::SQS::Queue" {
			if s.OK() || s.Failed == 0 {
				t.Errorf("%s: the runaway expression did not fail the shard: %+v", s.Shard, s)
			}
		} else if !s.OK() {
			t.Errorf("%s failed: %v", s.Shard, s.Errors)
		}
	}
	if got := len(tb.port.Entities("lambda")); got != 4 {
		t.Errorf("lambda entities = %d, want 4", got)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	tb := newTestbed(t, testConfig, 3)
	tb.parts.Target = &target.DryRun{}
	report := tb.run(t)
	if n := len(tb.port.Entities("lambda")); n != 0 {
		t.Fatalf("dry run wrote %d entities", n)
	}
	if s := shardReport(t, report, "AWS::Lambda::Function", "us-east-1"); s.Upserts["lambda"] != 3 {
		t.Errorf("planned upserts = %d, want 3", s.Upserts["lambda"])
	}
}

func TestUpsertsGoInFullBulkRequests(t *testing.T) {
	tb := newTestbed(t, testConfig, 50)
	report := tb.run(t)
	if !report.OK() {
		t.Fatalf("sync failed: %+v", report.Shards)
	}
	// Per region: 50 functions → 3 requests (20+20+10), 4 queues → 1, 2 tables → 1.
	want := 2 * (3 + 1 + 1)
	if got := tb.port.Count(portapi.RouteBulkUpsert, 0); got != want {
		t.Errorf("bulk upsert requests = %d, want %d", got, want)
	}
	if got := tb.port.Count(portapi.RouteUpsert, 0); got != 0 {
		t.Errorf("single upserts = %d, want 0", got)
	}
}

func TestFailedUpsertWithholdsTheShardsDeletions(t *testing.T) {
	tb := newTestbed(t, testConfig, 3)
	tb.run(t)
	tb.emu.Delete("us-east-1", "AWS::Lambda::Function", "fn-us-east-1-00")
	// Port fails every bulk upsert past the client's retries: the shard is
	// unhealthy, so its stale entity must stay.
	tb.port.Fail(portapi.Fault{Status: 503, For: time.Minute, Route: portapi.RouteBulkUpsert})
	report := tb.run(t)
	s := shardReport(t, report, "AWS::Lambda::Function", "us-east-1")
	if s.OK() || s.Deleted != 0 {
		t.Fatalf("shard with failed upserts: ok=%v deleted=%d", s.OK(), s.Deleted)
	}
	if _, ok := tb.port.Entity("lambda", "fn-us-east-1-00"); !ok {
		t.Error("stale entity deleted although the shard's upserts failed")
	}
}

func TestDuplicateIdentifiersAreCounted(t *testing.T) {
	cfg := strings.Replace(testConfig, `"identifier": ".QueueName"`, `"identifier": "\"same\""`, 1)
	tb := newTestbed(t, cfg, 1)
	report := tb.run(t)
	if s := shardReport(t, report, "AWS::SQS::Queue", "us-east-1"); s.Duplicates != 3 {
		t.Errorf("duplicates = %d, want 3 (4 queues, one identifier)", s.Duplicates)
	}
	if got := len(tb.port.Entities("queue")); got != 1 {
		t.Errorf("queue entities = %d, want 1", got)
	}
}

// slowOwned delays the ownership search, as a Port answering 429 would, so
// that it is still running when every shard has listed.
type slowOwned struct {
	controller.Target
	delay time.Duration
}

func (s slowOwned) Owned(ctx context.Context, owner source.Shard, blueprints []string) ([]entity.Ref, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Target.Owned(ctx, owner, blueprints)
}

func TestOwnershipSearchOutlivesTheListingPhase(t *testing.T) {
	tb := newTestbed(t, testConfig, 3)
	tb.run(t)
	tb.emu.Delete("eu-west-1", "AWS::Lambda::Function", "fn-eu-west-1-01")
	tb.parts.Target = slowOwned{Target: tb.parts.Target, delay: 300 * time.Millisecond}
	report := tb.run(t)
	if !report.OK() {
		t.Fatalf("a slow ownership search failed the sync: %+v", report.Shards)
	}
	if s := shardReport(t, report, "AWS::Lambda::Function", "eu-west-1"); s.Deleted != 1 {
		t.Errorf("deleted = %d, want 1", s.Deleted)
	}
}
