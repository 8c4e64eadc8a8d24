package blueprints

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

func newPort(t *testing.T) (*portapi.Server, *port.Client) {
	t.Helper()
	srv := portapi.New(portapi.Options{})
	t.Cleanup(srv.Close)
	c, err := port.New(port.Config{BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RequestsPerSecond: 1000, RetryBaseDelay: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func mustParse(t *testing.T, doc string) []Blueprint {
	t.Helper()
	bps, err := Parse([]byte(doc), "blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	return bps
}

func blueprintIn(t *testing.T, c *port.Client, id string) map[string]any {
	t.Helper()
	raw, err := c.GetBlueprint(context.Background(), id)
	if err != nil {
		t.Fatalf("blueprint %s: %v", id, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// What init writes for every kind of the library goes into an empty Port in
// one apply, in an order the double (which refuses a relation to a missing
// blueprint) accepts; a second apply changes nothing and sends nothing.
func TestApplyCreatesInitsBlueprints(t *testing.T) {
	srv, c := newPort(t)
	ctx := context.Background()
	kinds, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	data, err := library.NewBundle(kinds).BlueprintsJSON()
	if err != nil {
		t.Fatal(err)
	}
	desired := mustParse(t, string(data))
	if len(desired) < 20 {
		t.Fatalf("the library's bundle has %d blueprints, want at least 20", len(desired))
	}
	// Reversed: the plan, not the file, must get the order right.
	slices.Reverse(desired)
	p, err := NewPlan(ctx, c, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	relatedSomewhere := false
	for _, ch := range p.Changes {
		if !ch.New {
			t.Errorf("%s: not new in an empty Port", ch.Blueprint)
		}
	}
	if err := p.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, bp := range desired {
		got := blueprintIn(t, c, bp.Identifier)
		for name := range bp.Properties() {
			if _, ok := properties(got)[name]; !ok {
				t.Errorf("%s lacks property %s", bp.Identifier, name)
			}
		}
		for name := range bp.Relations() {
			relatedSomewhere = true
			if _, ok := relations(got)[name]; !ok {
				t.Errorf("%s lacks relation %s", bp.Identifier, name)
			}
		}
	}
	if !relatedSomewhere {
		t.Error("no blueprint of the bundle has a relation: the order was not tested")
	}
	if n := srv.Count(portapi.RouteCreateBlueprint, 201); n != len(desired) {
		t.Errorf("%d blueprints created, want %d", n, len(desired))
	}

	again, err := NewPlan(ctx, c, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Steps) != 0 {
		t.Errorf("a second apply would send %d requests: %+v", len(again.Steps), again.Steps[0])
	}
	for _, ch := range again.Changes {
		if !ch.Unchanged() {
			t.Errorf("%s changed after being applied: %+v", ch.Blueprint, ch)
		}
	}
}

// Blueprints that relate to each other in a cycle are created without those
// relations, then updated with them.
func TestApplyBreaksARelationCycle(t *testing.T) {
	_, c := newPort(t)
	ctx := context.Background()
	desired := mustParse(t, `[
	  {"identifier": "a", "title": "A", "schema": {"properties": {}}, "relations": {"b": {"target": "b", "many": false, "required": false}, "self": {"target": "a", "many": true, "required": false}}},
	  {"identifier": "b", "title": "B", "schema": {"properties": {}}, "relations": {"a": {"target": "a", "many": false, "required": false}}},
	  {"identifier": "c", "title": "C", "schema": {"properties": {}}, "relations": {"b": {"target": "b", "many": false, "required": false}}}
	]`)
	p, err := NewPlan(ctx, c, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, s := range p.Steps {
		methods = append(methods, s.Method+" "+s.Blueprint)
	}
	want := []string{"create a", "create b", "create c", "update a"}
	if !slices.Equal(methods, want) {
		t.Fatalf("steps %v, want %v", methods, want)
	}
	if _, ok := relations(p.Steps[0].Body)["self"]; !ok {
		t.Error("the self relation was deferred: it needs no other blueprint")
	}
	if err := p.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	for id, rels := range map[string][]string{"a": {"b", "self"}, "b": {"a"}, "c": {"b"}} {
		got := relations(blueprintIn(t, c, id))
		for _, r := range rels {
			if relationTarget(got[r]) == "" {
				t.Errorf("%s lacks relation %s after the apply: %v", id, r, got)
			}
		}
	}
}

const existing = `{"identifier": "fn", "title": "Function", "schema": {"properties": {
  "arn": {"type": "string", "title": "ARN"}, "memory": {"type": "number"}, "legacy": {"type": "string"}}, "required": ["arn"]},
  "relations": {"old": {"target": "fn", "many": false, "required": false}}}`

// Without --prune an apply adds and changes and never removes; with it, what
// the file lacks goes, and the entities lose those values.
func TestApplyAddsChangesAndPrunesOnlyWhenAsked(t *testing.T) {
	srv, c := newPort(t)
	ctx := context.Background()
	if err := srv.AddBlueprint([]byte(existing)); err != nil {
		t.Fatal(err)
	}
	srv.Put("someone", entity.Entity{Blueprint: "fn", Identifier: "f1", Properties: map[string]any{"arn": "a", "legacy": "x"}})
	desired := mustParse(t, `[{"identifier": "fn", "title": "Function", "schema": {"properties": {
	  "arn": {"type": "string", "title": "ARN"}, "memory": {"type": "number", "title": "Memory (MB)"}, "runtime": {"type": "string"}}, "required": ["arn"]}}]`)

	p, err := NewPlan(ctx, c, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch := p.Changes[0]
	if ch.New || !slices.Equal(ch.Added, []string{"runtime"}) || !slices.Equal(ch.Changed, []string{"memory"}) ||
		len(ch.Removed) != 0 || !slices.Equal(ch.Kept, []string{"legacy", "relations.old"}) {
		t.Fatalf("change %+v", ch)
	}
	var out bytes.Buffer
	p.Print(&out)
	for _, want := range []string{"~ fn: +runtime, ~memory; keeps legacy, relations.old (not in the file; --prune removes)", "update fn (PATCH)", "0 to create, 1 to change, 0 unchanged"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	if err := p.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	got := blueprintIn(t, c, "fn")
	props := properties(got)
	if props["legacy"] == nil || props["runtime"] == nil || mapOf(props["memory"])["title"] != "Memory (MB)" || relations(got)["old"] == nil {
		t.Fatalf("after the apply: %v", got)
	}

	p, err = NewPlan(ctx, c, desired, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if ch := p.Changes[0]; !slices.Equal(ch.Removed, []string{"legacy", "relations.old"}) || len(p.Steps) != 1 || p.Steps[0].Method != "replace" {
		t.Fatalf("prune plan %+v, steps %+v", ch, p.Steps)
	}
	if err := p.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	got = blueprintIn(t, c, "fn")
	if properties(got)["legacy"] != nil || relations(got)["old"] != nil || properties(got)["runtime"] == nil {
		t.Fatalf("after the prune: %v", got)
	}
	if e, _ := srv.Entity("fn", "f1"); e.Properties["legacy"] != nil || e.Properties["arn"] != "a" {
		t.Errorf("entity after the prune: %+v", e.Properties)
	}
}

// A relation to a blueprint that is neither in the file nor in Port stops
// the apply before any request.
func TestApplyRefusesAMissingRelationTarget(t *testing.T) {
	srv, c := newPort(t)
	desired := mustParse(t, `[{"identifier": "svc", "title": "Svc", "schema": {"properties": {}}, "relations": {"cluster": {"target": "cluster"}}}]`)
	_, err := NewPlan(context.Background(), c, desired, Options{})
	if err == nil || !strings.Contains(err.Error(), `[0].relations.cluster: target blueprint "cluster" is neither in the file nor in Port`) {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Count(portapi.RouteCreateBlueprint, 0); n != 0 {
		t.Errorf("%d create requests", n)
	}
}

// A failed request stops the apply and says what was already applied.
func TestApplyStopsAtTheFirstFailure(t *testing.T) {
	srv, c := newPort(t)
	desired := mustParse(t, `[{"identifier": "a", "title": "A", "schema": {"properties": {}}},
	  {"identifier": "b", "title": "B", "schema": {"properties": {"n": {"type": "integer"}}}},
	  {"identifier": "c", "title": "C", "schema": {"properties": {}}}]`)
	p, err := NewPlan(context.Background(), c, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Apply(context.Background(), c)
	var se *StepError
	if !errors.As(err, &se) || se.Step.Blueprint != "b" || len(se.Done) != 1 || !strings.Contains(err.Error(), "422") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.GetBlueprint(context.Background(), "c"); !port.IsNotFound(err) {
		t.Errorf("c was created after b failed: %v", err)
	}
	if n := srv.Count(portapi.RouteCreateBlueprint, 201); n != 1 {
		t.Errorf("%d blueprints created, want 1", n)
	}
}

func TestParseReportsEveryProblemWithItsPath(t *testing.T) {
	cases := []struct {
		doc  string
		want []string
	}{
		{`{`, []string{"blueprints.json: not JSON"}},
		{`"x"`, []string{"want an array of blueprints"}},
		{`[]`, []string{"no blueprints"}},
		{`[1]`, []string{"[0]: a blueprint must be a JSON object"}},
		{`[{"title": "T", "schema": {"properties": {}}}]`, []string{"[0].identifier: blueprint is empty"}},
		{`[{"identifier": "a=b", "title": "T", "schema": {"properties": {}}}]`, []string{"[0].identifier:", "'='"}},
		{`[{"identifier": "a", "schema": {"properties": {}}}, {"identifier": "a", "title": "A", "schema": {"properties": {}}}]`,
			[]string{"[0].title: a title is required", `[1].identifier: blueprint "a" is also at [0]`}},
		{`[{"identifier": "a", "title": "A"}]`, []string{"[0].schema: want an object"}},
		{`[{"identifier": "a", "title": "A", "schema": {"properties": []}}]`, []string{"[0].schema.properties: want an object"}},
		{`[{"identifier": "a", "title": "A", "schema": {"properties": {}}, "relations": {"r": {"many": true}}}]`, []string{"[0].relations.r.target: a relation needs a target"}},
		{`{"identifier": "a", "title": "A", "schema": {"properties": {}}, "relations": 3}`, []string{"blueprints.json: relations: want an object"}},
		{`[] []`, []string{"more than one JSON value"}},
	}
	if len(cases) < 12 {
		t.Fatal("cases lost")
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.doc), "blueprints.json")
		if err == nil {
			t.Errorf("%s: accepted", tc.doc)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.doc, err, w)
			}
		}
	}
	one, err := Parse([]byte(`{"identifier": "a", "title": "A", "schema": {"properties": {"n": {"type": "number", "minimum": 1}}}}`), "x")
	if err != nil || len(one) != 1 || one[0].Identifier != "a" {
		t.Fatalf("a single blueprint object: %v %v", one, err)
	}
	if _, isFloat := mapOf(one[0].Properties()["n"])["minimum"].(float64); !isFloat {
		t.Error("numbers are not Port's float64: a re-apply would always see a change")
	}
}

// The preflight names each missing blueprint, property and relation at its
// config path, reads each blueprint once, and leaves jq blueprints alone.
func TestCheck(t *testing.T) {
	srv, c := newPort(t)
	if err := srv.AddBlueprint([]byte(existing)); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`{"resources": [
	  {"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [
	    {"identifier": ".Arn", "blueprint": "\"fn\"", "properties": {"arn": ".Arn", "runtime": ".Runtime"}, "relations": {"old": ".Arn", "role": ".Role"}},
	    {"identifier": ".Arn", "blueprint": "fn", "properties": {"memory": ".MemorySize"}}]}}},
	  {"kind": "AWS::S3::Bucket", "port": {"entity": {"mappings": [{"identifier": ".BucketName", "blueprint": "bucket"}]}}},
	  {"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [{"identifier": ".QueueUrl", "blueprint": "if .X then \"a\" else \"b\" end", "properties": {"zzz": ".Y"}}]}}}
	]}`), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Source = "config.json"
	var logs bytes.Buffer
	err = Check(context.Background(), c, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`resources[0].port.entity.mappings[0].properties.runtime: blueprint "fn" has no property "runtime"`,
		`resources[0].port.entity.mappings[0].relations.role: blueprint "fn" has no relation "role"`,
		`resources[1].port.entity.mappings[0].blueprint: blueprint "bucket" does not exist in Port`,
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(err.Error(), "blueprints apply --file blueprints.json") || !strings.HasPrefix(err.Error(), "config.json: 3 mapping(s)") {
		t.Errorf("the error does not give the fix: %v", err)
	}
	if n := srv.Count(portapi.RouteGetBlueprint, 0); n != 2 {
		t.Errorf("%d blueprint reads, want 2 (fn once, bucket once)", n)
	}
	if !strings.Contains(logs.String(), "resources[2].port.entity.mappings[0].blueprint") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("the jq blueprint is not named at debug level:\n%s", logs.String())
	}
	if got := Checked(cfg); !slices.Equal(got, []string{"bucket", "fn"}) {
		t.Errorf("Checked = %v", got)
	}

	if err := srv.AddBlueprint([]byte(`{"identifier": "bucket", "title": "B", "schema": {"properties": {}}}`)); err != nil {
		t.Fatal(err)
	}
	ok, _ := config.Parse([]byte(`{"resources": [{"kind": "AWS::S3::Bucket", "port": {"entity": {"mappings": [{"identifier": ".BucketName", "blueprint": "bucket"}]}}}]}`), config.JSON)
	if err := Check(context.Background(), c, ok, nil); err != nil {
		t.Errorf("a config whose blueprints exist: %v", err)
	}

	srv.Fail(portapi.Fault{Route: portapi.RouteGetBlueprint, Status: 500, Requests: 100})
	if err := Check(context.Background(), c, ok, nil); err == nil || errors.As(err, &ce) {
		t.Errorf("a Port failure must be an error, not problems: %v", err)
	}
}

// blueprints.json is outside input: Parse never panics, and what it accepts
// has valid, distinct identifiers and can be planned.
func FuzzParse(f *testing.F) {
	kinds, err := library.All()
	if err != nil {
		f.Fatal(err)
	}
	data, _ := library.NewBundle(kinds[:3]).BlueprintsJSON()
	f.Add(data)
	f.Add([]byte(existing))
	f.Add([]byte(`[{"identifier":"a","title":"A","schema":{"properties":{}},"relations":{"r":{"target":"a"}}}]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		bps, err := Parse(doc, "f")
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, bp := range bps {
			if entity.ValidateBlueprint(bp.Identifier) != nil || seen[bp.Identifier] {
				t.Fatalf("accepted identifier %q", bp.Identifier)
			}
			seen[bp.Identifier] = true
		}
		current := map[string]map[string]any{}
		st := steps(bps, current, Options{})
		if len(st) < len(bps) {
			t.Fatalf("%d steps for %d new blueprints", len(st), len(bps))
		}
	})
}
