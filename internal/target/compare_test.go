package target_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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

const fnConfig = `{"resources": [{"kind": "AWS::Lambda::Function",
  "selector": {"aws": {"regions": ["us-east-1"]}},
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "title": ".FunctionName", "blueprint": "\"fn\"",
    "properties": {"runtime": ".Runtime", "memory": ".MemorySize", "tags": ".Tags"}}]}}}]}`

type bed struct {
	emu    *cloudcontrol.Emulator
	double *portapi.Server
	src    *source.CloudControl
	client *port.Client
	mapper *mapping.Mapper
}

func newBed(t *testing.T, functions int) *bed {
	t.Helper()
	emu := cloudcontrol.New()
	for i := range functions {
		name := fmt.Sprintf("fn-%02d", i)
		if err := emu.Put("us-east-1", "AWS::Lambda::Function", name, map[string]any{
			"FunctionName": name, "Runtime": "python3.12", "MemorySize": 128, "Tags": []any{map[string]any{"Key": "team", "Value": "a"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	if err := double.AddBlueprint([]byte(`{"identifier": "fn", "title": "Fn", "schema": {"properties": {
	  "runtime": {"type": "string"}, "memory": {"type": "number"}, "tags": {"type": "array"}}}}`)); err != nil {
		t.Fatal(err)
	}
	client, err := port.New(port.Config{BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret(),
		RequestsPerSecond: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fnConfig), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := source.NewCloudControl(srv.AWSConfig("us-east-1"), source.Options{RequestsPerSecond: -1, BackoffBase: time.Millisecond})
	return &bed{emu: emu, double: double, src: src, client: client, mapper: mapper}
}

// run is one full sync through Comparing over the Port target (or a dry run).
func (b *bed) run(t *testing.T, dryRun bool) (controller.Report, *target.Comparing) {
	t.Helper()
	var inner controller.Target = target.NewPort(b.client, port.UpsertOptions{}, port.DeleteOptions{})
	if dryRun {
		inner = &target.DryRun{Registry: registry.Port{Client: b.client}}
	}
	cmp := target.NewComparing(inner, registry.Port{Client: b.client}, dryRun)
	c, err := controller.New(controller.Parts{Mapper: b.mapper, Source: b.src, Target: cmp, AccountID: account,
		DefaultRegion: "us-east-1", Logger: slog.New(slog.DiscardHandler)},
		controller.Settings{Concurrency: 2, WriteConcurrency: 4, Policy: plan.Sync{}, MaxDeleteShare: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Run(context.Background())
	if err != nil || !r.OK() {
		t.Fatalf("run: %v %+v", err, r.Shards)
	}
	return r, cmp
}

// A first run finds everything new, a second unchanged, and after one
// resource changes in AWS exactly that entity is changed, with the field;
// the comparison adds no Port request: one ownership search per run, as
// without it.
func TestComparingCountsNewChangedUnchanged(t *testing.T) {
	b := newBed(t, 25)
	r, cmp := b.run(t, false)
	sh := r.Shards[0].Shard
	if got := cmp.Counts(sh); got != (target.Comparison{New: 25}) {
		t.Fatalf("first run: %+v, want 25 new", got)
	}
	searches := b.double.Count(portapi.RouteSearch, 0)
	if searches != 1 {
		t.Errorf("first run made %d searches, want 1 (the ownership search)", searches)
	}

	_, cmp = b.run(t, false)
	if got := cmp.Counts(sh); got != (target.Comparison{Unchanged: 25}) {
		t.Fatalf("second run: %+v, want 25 unchanged", got)
	}
	if n := b.double.Count(portapi.RouteSearch, 0) - searches; n != 1 {
		t.Errorf("second run made %d searches, want 1", n)
	}

	if err := b.emu.Put("us-east-1", "AWS::Lambda::Function", "fn-07", map[string]any{
		"FunctionName": "fn-07", "Runtime": "python3.13", "MemorySize": 128, "Tags": []any{map[string]any{"Key": "team", "Value": "a"}},
	}); err != nil {
		t.Fatal(err)
	}
	b.emu.Delete("us-east-1", "AWS::Lambda::Function", "fn-08")
	r, cmp = b.run(t, true)
	if got := cmp.Counts(sh); got != (target.Comparison{Changed: 1, Unchanged: 23}) {
		t.Fatalf("dry run after a change: %+v, want 1 changed, 23 unchanged", got)
	}
	var changed []target.EntityChange
	for _, ch := range cmp.Changes(sh) {
		if ch.Change == target.Changed {
			changed = append(changed, ch)
		}
	}
	if len(changed) != 1 || changed[0].Ref.Identifier != "fn-07" || !slices.Equal(changed[0].Fields, []string{"properties.runtime"}) {
		t.Errorf("changed = %+v, want fn-07 with properties.runtime", changed)
	}
	if len(r.Shards[0].Plan.Deletes) != 1 || r.Shards[0].Plan.Deletes[0].Identifier != "fn-08" {
		t.Errorf("plan deletes %v, want fn-08", r.Shards[0].Plan.Deletes)
	}
	if e, _ := b.double.Entity("fn", "fn-07"); e.Properties["runtime"] != "python3.12" {
		t.Errorf("the dry run wrote: %v", e.Properties)
	}
}

// An entity with that identifier written by someone else is new to the
// shard (the upsert takes it over); a failed search makes the upserts
// unknown and is the ownership search's error, so nothing is deleted.
func TestComparingNotOwnedAndFailedSearch(t *testing.T) {
	b := newBed(t, 3)
	b.double.Put("someone-else/1", entity.Entity{Blueprint: "fn", Identifier: "fn-01", Title: "fn-01",
		Properties: map[string]any{"runtime": "python3.12", "memory": 128.0}})
	r, cmp := b.run(t, false)
	if got := cmp.Counts(r.Shards[0].Shard); got.New != 3 {
		t.Errorf("counts %+v, want 3 new", got)
	}

	b.double.Fail(portapi.Fault{Route: portapi.RouteSearch, Status: 400, Requests: 1})
	cmp = target.NewComparing(target.NewPort(b.client, port.UpsertOptions{}, port.DeleteOptions{}), registry.Port{Client: b.client}, false)
	c, err := controller.New(controller.Parts{Mapper: b.mapper, Source: b.src, Target: cmp, AccountID: account, DefaultRegion: "us-east-1",
		Logger: slog.New(slog.DiscardHandler)}, controller.Settings{Concurrency: 1, WriteConcurrency: 1, Policy: plan.Sync{}, MaxDeleteShare: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.emu.Delete("us-east-1", "AWS::Lambda::Function", "fn-02")
	rep, _ := c.Run(context.Background())
	if rep.OK() || rep.Shards[0].Deleted != 0 {
		t.Errorf("a failed ownership search must fail the shard and delete nothing: %+v", rep.Shards[0])
	}
	if got := cmp.Counts(rep.Shards[0].Shard); got.Unknown != 2 {
		t.Errorf("counts %+v, want 2 unknown", got)
	}
}

func TestDiff(t *testing.T) {
	have := entity.Entity{Title: "t", Icon: "Lambda", Team: []any{"b", "a"},
		Properties: map[string]any{"n": 1.0, "s": "x", "list": []any{1.0, "a"}, "obj": map[string]any{"k": true}},
		Relations:  map[string]any{"r": "target", "many": []any{"x", "y"}}}
	cases := []struct {
		want entity.Entity
		diff []string
	}{
		{entity.Entity{Properties: map[string]any{"n": 1, "s": "x"}}, nil},
		{entity.Entity{Properties: map[string]any{"n": int64(1), "list": []any{1, "a"}, "obj": map[string]any{"k": true}}}, nil},
		{entity.Entity{Properties: map[string]any{"n": 2}}, []string{"properties.n"}},
		{entity.Entity{Properties: map[string]any{"missing": nil}}, nil},
		{entity.Entity{Properties: map[string]any{"missing": "v"}}, []string{"properties.missing"}},
		{entity.Entity{Properties: map[string]any{"s": nil}}, []string{"properties.s"}},
		{entity.Entity{Title: "t", Icon: "Lambda", Team: []string{"a", "b"}}, nil},
		{entity.Entity{Title: "u", Team: "a"}, []string{"title", "team"}},
		{entity.Entity{Relations: map[string]any{"r": "target", "many": []any{"x", "y"}}}, nil},
		{entity.Entity{Relations: map[string]any{"r": "other", "many": []any{"y", "x"}}}, []string{"relations.many", "relations.r"}},
	}
	if len(cases) < 10 {
		t.Fatal("cases lost")
	}
	for i, tc := range cases {
		if got := target.Diff(tc.want, have); !slices.Equal(got, tc.diff) {
			t.Errorf("case %d: Diff = %v, want %v", i, got, tc.diff)
		}
	}
}
