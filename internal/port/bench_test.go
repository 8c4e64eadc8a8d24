package port

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// BenchmarkUpsertEntities writes 10,000 entities per iteration to the Port
// double over HTTP on 127.0.0.1, unpaced. "local" is the client's and the
// double's own cost (both in this process, so allocations count both);
// the latency cases add a per-request delay like a remote Port and show
// what Concurrency buys.
func BenchmarkUpsertEntities(b *testing.B) {
	cases := []struct {
		latency     time.Duration
		concurrency int
	}{
		{0, 4},
		{20 * time.Millisecond, 1},
		{20 * time.Millisecond, 4},
		{20 * time.Millisecond, 8},
	}
	for _, bc := range cases {
		name := fmt.Sprintf("latency=%s/concurrency=%d", bc.latency, bc.concurrency)
		b.Run(name, func(b *testing.B) {
			srv := portapi.New(portapi.Options{RateLimit: portapi.RateLimit{Limit: -1}, Latency: bc.latency})
			defer srv.Close()
			for _, bp := range []string{clusterBlueprint, serviceBlueprint} {
				if err := srv.AddBlueprint([]byte(bp)); err != nil {
					b.Fatal(err)
				}
			}
			c, err := New(Config{BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
				RequestsPerSecond: -1, Concurrency: bc.concurrency, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			ents := services(10_000, "bench")
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				for _, r := range c.UpsertEntities(ctx, "service", ents, UpsertOptions{}) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(ents))/time.Since(start).Seconds(), "entities/s")
			b.ReportMetric(float64(srv.Count(portapi.RouteBulkUpsert, 0))/float64(b.N), "requests/op")
		})
	}
}
