package events_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/events/eventstest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// BenchmarkParseAndEvaluate: the CPU cost of one seed-rule message before
// any I/O (three jq expressions compiled and run).
func BenchmarkParseAndEvaluate(b *testing.B) {
	body := eventstest.FunctionMessage("eu-west-1", "CreateFunction20150331", "test-function")
	ctx := context.Background()
	for b.Loop() {
		if _, err := parseAndEvaluate(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleBatch: one SQS batch of 10 distinct functions through the
// whole path over loopback HTTP (Cloud Control emulator, Port double).
func BenchmarkHandleBatch(b *testing.B) {
	s := eventstest.New(b, eventstest.Options{})
	s.Handler.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	items := make([]events.Item, 10)
	for i := range items {
		name := fmt.Sprintf("fn-%d", i)
		s.PutFunction(b, "eu-west-1", name, 128)
		items[i] = events.Item{ID: name, Body: eventstest.FunctionMessage("eu-west-1", "CreateFunction20150331", name)}
	}
	ctx := context.Background()
	for b.Loop() {
		for _, o := range s.Handler.HandleBatch(ctx, items) {
			if o.Status != events.StatusOK {
				b.Fatalf("%s: %s %v", o.ID, o.Status, o.Err)
			}
		}
	}
	// One owner and blueprint: the batch's 10 upserts share one bulk request.
	b.ReportMetric(float64(s.Port.Count(portapi.RouteBulkUpsert, 0))/float64(b.N), "port-requests/batch")
}
