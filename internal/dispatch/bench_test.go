package dispatch_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// BenchmarkHandleBatch: one SQS batch of 10 distinct functions through the
// whole path over loopback HTTP (Cloud Control emulator, Port double).
func BenchmarkHandleBatch(b *testing.B) {
	s := dispatchtest.New(b, dispatchtest.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	items := make([]dispatch.Item, 10)
	for i := range items {
		name := fmt.Sprintf("fn-%d", i)
		s.PutFunction(b, "eu-west-1", name, 128)
		items[i] = dispatch.Item{ID: name, Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name)}
	}
	ctx := context.Background()
	for b.Loop() {
		for _, o := range s.Handler.HandleBatch(ctx, items) {
			if o.Status != dispatch.StatusOK {
				b.Fatalf("%s: %s %v", o.ID, o.Status, o.Err)
			}
		}
	}
	// One owner and blueprint: the batch's 10 upserts share one bulk request.
	b.ReportMetric(float64(s.Port.Count(portapi.RouteBulkUpsert, 0))/float64(b.N), "port-requests/batch")
}
