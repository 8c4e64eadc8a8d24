package source_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// BenchmarkList5000 lists 5,000 resources with one GetResource each through
// the real SDK and the emulator, at a given emulated latency per call and
// GetResource ceiling per region (unpaced, so the budget is the ceiling).
// Pacing is off: this measures the reader.
// Figures are in BENCHMARKS.md.
func BenchmarkList5000(b *testing.B) {
	const n = 5000
	for _, latency := range []time.Duration{0, 2 * time.Millisecond, 20 * time.Millisecond} {
		for _, conc := range []int{8, 32} {
			b.Run(fmt.Sprintf("latency=%s/get-concurrency=%d", latency, conc), func(b *testing.B) {
				e := cloudcontrol.New()
				fill(b, e, "eu-west-1", n)
				e.SetLatency(latency)
				opts := fastOptions()
				opts.GetConcurrency = conc
				c := reader(b, e, opts)
				shard := source.Shard{AccountID: account, Region: "eu-west-1", Kind: lambdaType}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					count := 0
					err := c.List(context.Background(), shard, source.ListOptions{}, func(source.Resource) error {
						count++
						return nil
					})
					if err != nil || count != n {
						b.Fatalf("listed %d, err %v", count, err)
					}
				}
				b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "resources/s")
			})
		}
	}
}
