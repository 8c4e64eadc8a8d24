package source_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// getPeak serves the emulator and records the most GetResource calls it had
// in flight at once.
type getPeak struct {
	inFlight, peak atomic.Int64
	gets           atomic.Int64
}

func (g *getPeak) serve(t testing.TB, e *cloudcontrol.Emulator) *cloudcontrol.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetResource") {
			e.ServeHTTP(w, r)
			return
		}
		g.gets.Add(1)
		n := g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
		}
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &cloudcontrol.Server{URL: srv.URL}
}

// TestGetBudgetFollowsTheRegionsPace: at 1,000 calls/s and 50 ms a region
// has room for 50 calls in flight, far more than the 8 per shard this reader
// used to allow; the budget (ceiling 64 by default) lets the pace be the limit.
func TestGetBudgetFollowsTheRegionsPace(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 300)
	e.SetLatency(50 * time.Millisecond)
	var g getPeak
	opts := fastOptions()
	opts.RequestsPerSecond = 1000
	c := source.NewCloudControl(g.serve(t, e).AWSConfig("eu-west-1"), opts)
	_, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 300)
	if p := g.peak.Load(); p <= 16 || p > source.DefaultGetConcurrency {
		t.Errorf("peak %d GetResource calls in flight at 1,000/s and 50 ms, want 17..%d", p, source.DefaultGetConcurrency)
	}
}

// TestGetBudgetSharedByShardsOfARegion: shards listed at once in one region
// draw on one budget, and another region has its own.
func TestGetBudgetSharedByShardsOfARegion(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 60)
	fill(t, e, "us-east-1", 60)
	e.SetLatency(5 * time.Millisecond)
	var g getPeak
	opts := fastOptions()
	opts.GetConcurrency = 3
	c := source.NewCloudControl(g.serve(t, e).AWSConfig("eu-west-1"), opts)
	shards := []source.Shard{lambdaShard("eu-west-1"), lambdaShard("eu-west-1"), lambdaShard("eu-west-1")}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, shard := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, times, err := collect(ctx, c, shard, source.ListOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			if len(times) != 60 {
				t.Errorf("%s: %d resources, want 60", shard, len(times))
			}
		}()
	}
	wg.Wait()
	if p := g.peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak %d GetResource calls in flight for three shards of one region with GetConcurrency=3, want 2..3", p)
	}
	if n := g.gets.Load(); n != 180 {
		t.Errorf("%d GetResource calls, want 180", n)
	}

	g.peak.Store(0)
	var wg2 sync.WaitGroup
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			if _, _, err := collect(ctx, c, lambdaShard(region), source.ListOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg2.Wait()
	if p := g.peak.Load(); p > 6 || p < 4 {
		t.Errorf("peak %d GetResource calls in flight for two regions with GetConcurrency=3 each, want 4..6", p)
	}
}

// TestSlowConsumerKeepsNoRegionSlots: a shard whose consumer is blocked must
// not hold the region's GetResource slots, or the region's other shards stop.
// Shard A's consumer waits until shard B is done; B can only finish with
// slots A's getters are not holding.
func TestSlowConsumerKeepsNoRegionSlots(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 30)
	opts := fastOptions()
	opts.GetConcurrency = 3
	c := source.NewCloudControl(serve(t, e).AWSConfig("eu-west-1"), opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bDone := make(chan struct{})
	errA := make(chan error, 1)
	go func() {
		errA <- c.List(ctx, lambdaShard("eu-west-1"), source.ListOptions{}, func(source.Resource) error {
			select {
			case <-bDone:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// Let A's getters take what they can before B starts.
	time.Sleep(100 * time.Millisecond)
	_, times, err := collect(ctx, c, lambdaShard("eu-west-1"), source.ListOptions{})
	close(bDone)
	if err != nil {
		t.Fatalf("shard B beside a blocked shard A: %v", err)
	}
	assertEachOnce(t, times, 30)
	if err := <-errA; err != nil {
		t.Fatalf("shard A: %v", err)
	}
}
