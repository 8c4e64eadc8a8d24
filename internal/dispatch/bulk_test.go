package dispatch_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

type batchCase struct {
	Name string `json:"name"`
	AWS  []struct {
		Region     string         `json:"region"`
		Type       string         `json:"type"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
	} `json:"aws"`
	FailBlueprints []string `json:"failBlueprints"`
	Messages       []struct {
		ID       string `json:"id"`
		Function string `json:"function"`
		Region   string `json:"region"`
		Body     string `json:"body"`
	} `json:"messages"`
	Want struct {
		// Outcomes maps a message id to "status" or "status/reason".
		Outcomes    map[string]string   `json:"outcomes"`
		BulkUpserts int                 `json:"bulkUpserts"`
		Port        map[string][]string `json:"port"`
	} `json:"want"`
}

func TestBatchSharesBulkUpserts(t *testing.T) {
	raw, err := os.ReadFile("testdata/batch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []batchCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/batch.yaml: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			failing := func(next http.Handler) http.Handler { return next }
			for _, bp := range c.FailBlueprints {
				inner, fail := failing, dispatchtest.FailBlueprint(bp, func() bool { return true })
				failing = func(next http.Handler) http.Handler { return fail(inner(next)) }
			}
			// Concurrency above the batch size: every message runs at once,
			// as serve's and Lambda's defaults allow for a batch of 10.
			s := dispatchtest.New(t, dispatchtest.Options{PortMiddleware: failing, Concurrency: 16})
			for _, r := range c.AWS {
				if err := s.CC.Put(r.Region, r.Type, r.Identifier, r.Properties); err != nil {
					t.Fatal(err)
				}
			}
			var items []dispatch.Item
			for _, m := range c.Messages {
				body := []byte(m.Body)
				if m.Function != "" {
					body = dispatchtest.FunctionMessage(m.Region, "CreateFunction20150331", m.Function)
				}
				items = append(items, dispatch.Item{ID: m.ID, Body: body})
			}

			out := s.Handler.HandleBatch(context.Background(), items)

			if len(out) != len(items) {
				t.Fatalf("%d outcomes for %d messages", len(out), len(items))
			}
			for i, o := range out {
				if o.ID != items[i].ID {
					t.Fatalf("outcome %d is for %s, want %s", i, o.ID, items[i].ID)
				}
				got := o.Status.String()
				if o.Reason != "" {
					got += "/" + o.Reason
				}
				if want := c.Want.Outcomes[o.ID]; got != want {
					t.Errorf("%s: %s (%v), want %s", o.ID, got, o.Err, want)
				}
			}
			if n := s.Port.Count(portapi.RouteBulkUpsert, 0); n != c.Want.BulkUpserts {
				t.Errorf("Port received %d bulk upserts, want %d", n, c.Want.BulkUpserts)
			}
			if n := s.Port.Count(portapi.RouteUpsert, 0); n != 0 {
				t.Errorf("Port received %d single upserts, want none (a batch's upserts go in bulk)", n)
			}
			for bp, want := range c.Want.Port {
				got := s.IDs(bp)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s holds [%s], want [%s]", bp, strings.Join(got, " "), strings.Join(want, " "))
				}
			}
		})
	}
}
