package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

type reconcileCase struct {
	Name string `json:"name"`
	// Setup names a folder of testdata holding config.yaml and
	// blueprints.json to run with instead of the eventstest stack's own.
	Setup string `json:"setup"`
	AWS   []struct {
		Region     string         `json:"region"`
		Type       string         `json:"type"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
	} `json:"aws"`
	Port []entity.Entity `json:"port"`
	// PortDatasource is the User-Agent the Port entities were written with;
	// empty: the exporter's own for the message's region and kind.
	PortDatasource string `json:"port_datasource"`
	// Policy is the controller's policy (default sync).
	Policy  string `json:"policy"`
	CCFault *struct {
		Scope cloudcontrol.Scope     `json:"scope"`
		Kind  cloudcontrol.FaultKind `json:"kind"`
	} `json:"cc_fault"`
	PortFault *struct {
		Status   int `json:"status"`
		Requests int `json:"requests"`
	} `json:"port_fault"`
	Message map[string]any `json:"message"`
	// With replaces fields of Message, so cases can share one message by anchor.
	With map[string]any `json:"with"`
	// Before are messages of the same batch, queued ahead of the case's
	// message: each is Message (not With) with these fields replaced.
	Before []map[string]any `json:"before"`
	Want   struct {
		Status     string              `json:"status"`
		Reason     string              `json:"reason"`
		Port       map[string][]string `json:"port"`
		Entities   []entity.Entity     `json:"entities"`
		Datasource string              `json:"datasource"`
		Notes      []string            `json:"notes"`
		// Handled counts the messages of the batch handled themselves rather
		// than as a duplicate of another (0: not checked).
		Handled int `json:"handled"`
		// Lookups counts the GetResource calls the batch made (nil: not checked).
		Lookups *int `json:"lookups"`
		// Decision holds fields of the evaluated decision of the case's message.
		Decision map[string]string `json:"decision"`
	} `json:"want"`
}

func TestReconcile(t *testing.T) {
	raw, err := os.ReadFile("testdata/reconcile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []reconcileCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/reconcile.yaml: %v", err)
	}
	// An emptied or truncated table must fail, not pass.
	if len(cases) < 40 {
		t.Fatalf("testdata/reconcile.yaml has %d cases, want at least 40", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			opts := setupOptions(t, c.Setup)
			if c.Policy != "" {
				opts.Policy = plan.Policies[c.Policy]
				if opts.Policy == nil {
					t.Fatalf("unknown policy %q", c.Policy)
				}
			}
			s := dispatchtest.New(t, opts)
			for _, r := range c.AWS {
				if err := s.CC.Put(r.Region, r.Type, r.Identifier, r.Properties); err != nil {
					t.Fatal(err)
				}
			}
			ds := c.PortDatasource
			if ds == "" {
				region, _ := c.Message["region"].(string)
				if r, ok := c.With["region"].(string); ok {
					region = r
				}
				kind, _ := c.Message["resource_type"].(string)
				ds = dispatchtest.Datasource(strings.Trim(region, `"`), kind)
			}
			s.Port.Put(ds, c.Port...)
			if c.CCFault != nil {
				s.CC.SetFault(c.CCFault.Scope, c.CCFault.Kind)
			}
			if c.PortFault != nil {
				s.Port.Fail(portapi.Fault{Status: c.PortFault.Status, Requests: c.PortFault.Requests})
			}
			var items []dispatch.Item
			for i, with := range append(c.Before, c.With) {
				msg := maps.Clone(c.Message)
				maps.Copy(msg, with)
				body, err := json.Marshal(msg)
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, dispatch.Item{ID: fmt.Sprintf("m-%d", i+1), Body: body})
			}

			out := s.Handler.HandleBatch(context.Background(), items)
			if len(out) != len(items) {
				t.Fatalf("%d outcomes for %d messages", len(out), len(items))
			}
			o := out[len(out)-1]
			if o.Status.String() != c.Want.Status || o.Reason != c.Want.Reason {
				t.Fatalf("outcome %s/%q (%v), want %s/%q", o.Status, o.Reason, o.Err, c.Want.Status, c.Want.Reason)
			}
			if c.Want.Handled > 0 {
				handled := 0
				for _, o := range out {
					if o.DuplicateOf == "" {
						handled++
					}
				}
				if handled != c.Want.Handled {
					t.Errorf("%d of %d messages handled themselves, want %d", handled, len(out), c.Want.Handled)
				}
			}
			if c.Want.Lookups != nil {
				if n := s.CC.TotalCounts().Calls; n != *c.Want.Lookups {
					t.Errorf("%d Cloud Control calls, want %d", n, *c.Want.Lookups)
				}
			}
			if len(c.Want.Decision) > 0 {
				if o.Report == nil || o.Report.Decision == nil {
					t.Fatalf("no decision reported")
				}
				raw, err := json.Marshal(o.Report.Decision)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				for k, v := range c.Want.Decision {
					if fmt.Sprint(got[k]) != v {
						t.Errorf("decision %s = %v, want %q", k, got[k], v)
					}
				}
			}
			for bp, want := range c.Want.Port {
				if got := s.IDs(bp); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("blueprint %s holds %v, want %v", bp, got, want)
				}
			}
			for _, want := range c.Want.Entities {
				got, ok := s.Port.Entity(want.Blueprint, want.Identifier)
				if !ok {
					t.Errorf("entity %s/%s missing", want.Blueprint, want.Identifier)
					continue
				}
				for k, v := range want.Properties {
					if fmt.Sprint(got.Properties[k]) != fmt.Sprint(v) {
						t.Errorf("%s/%s property %s = %v, want %v", want.Blueprint, want.Identifier, k, got.Properties[k], v)
					}
				}
				if c.Want.Datasource != "" && got.Datasource != c.Want.Datasource {
					t.Errorf("%s/%s written with User-Agent %q, want %q", want.Blueprint, want.Identifier, got.Datasource, c.Want.Datasource)
				}
			}
			var notes string
			if o.Report != nil {
				notes = strings.Join(o.Report.Notes, "\n")
			}
			for _, n := range c.Want.Notes {
				if !strings.Contains(notes, n) {
					t.Errorf("report notes %q do not mention %q", notes, n)
				}
			}
		})
	}
}

// setupOptions reads the config and blueprints of testdata/<setup>/, or
// keeps the stack's own when setup is "".
func setupOptions(t *testing.T, setup string) dispatchtest.Options {
	t.Helper()
	if setup == "" {
		return dispatchtest.Options{}
	}
	cfg, err := os.ReadFile(filepath.Join("testdata", setup, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bps, err := os.ReadFile(filepath.Join("testdata", setup, "blueprints.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dispatchtest.Options{Config: cfg, Blueprints: bps}
}

// TestDryRunWritesNothing runs a delete of an existing function and a
// delete of a gone one without writes: the report says what would happen
// and Port is unchanged.
func TestDryRunWritesNothing(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{DryRun: true})
	if err := s.CC.Put("eu-west-1", "AWS::Lambda::Function", "keep-me", map[string]any{"FunctionName": "keep-me", "MemorySize": 1024}); err != nil {
		t.Fatal(err)
	}
	s.Port.Put(dispatchtest.Datasource("eu-west-1", "AWS::Lambda::Function"), entity.Entity{Blueprint: "lambda", Identifier: "gone", Properties: map[string]any{}})
	out := s.Handler.HandleBatch(context.Background(), []dispatch.Item{
		{ID: "keep", Body: dispatchtest.FunctionMessage("eu-west-1", "DeleteFunction20150331", "keep-me")},
		{ID: "gone", Body: dispatchtest.FunctionMessage("eu-west-1", "DeleteFunction20150331", "gone")},
	})
	keep, gone := out[0].Report, out[1].Report
	if out[0].Status != dispatch.StatusOK || !keep.DryRun || len(keep.Upserts) != 1 || keep.Upserts[0].Identifier != "keep-me" {
		t.Fatalf("dry-run report %+v (%v), want one planned upsert of keep-me", keep, out[0].Err)
	}
	if want := []entity.Ref{{Blueprint: "lambda", Identifier: "gone"}}; out[1].Status != dispatch.StatusOK || !reflect.DeepEqual(gone.Deletes, want) {
		t.Fatalf("dry-run deletes %v (%v), want %v", gone.Deletes, out[1].Err, want)
	}
	if got := s.IDs("lambda"); !slices.Equal(got, []string{"gone"}) {
		t.Fatalf("a dry run changed Port: lambda holds %v", got)
	}
	if n := s.CC.TotalCounts().Calls; n != 2 {
		t.Errorf("%d Cloud Control calls, want the 2 reads", n)
	}
}
