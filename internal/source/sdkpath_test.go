package source_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// TestThrottledRetriesBackOff: every call is throttled, so each Get makes
// MaxRetries+1 attempts and waits the SDK's full-jitter backoff between
// them: retries 1..3 wait in [0, 20 ms), [0, 40 ms), [0, 80 ms). Twenty Gets
// wait 1.4 s on average (σ ≈ 0.12 s) and at most 2.8 s; without backoff
// they would take a few milliseconds.
func TestThrottledRetriesBackOff(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1)
	e.SetThrottle(1, 1)
	opts := fastOptions()
	opts.MaxRetries = 3
	opts.BackoffBase = 20 * time.Millisecond
	opts.BackoffCap = time.Second
	c := reader(t, e, opts)
	start := time.Now()
	for range 20 {
		_, err := c.Get(context.Background(), source.Shard{Region: "eu-west-1", Kind: lambdaType}, "fn-00000")
		if !errors.Is(err, source.ErrThrottled) || source.Cause(err) != source.CauseThrottled {
			t.Fatalf("always throttled: %v, want ErrThrottled", err)
		}
	}
	d := time.Since(start)
	if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != 80 {
		t.Errorf("%d GetResource calls for 20 Gets with MaxRetries 3, want 80", n)
	}
	if d < 600*time.Millisecond || d > 3800*time.Millisecond {
		t.Errorf("20 throttled Gets took %s, want 0.6..3.8 s (backoff mean 1.4 s, at most 2.8 s)", d)
	}
	t.Logf("20 Gets × 4 throttled attempts: %s", d)
}

// TestPacingHoldsTheRate: four shards of one region share one bucket of
// 100 calls/s, throttled retries included.
func TestPacingHoldsTheRate(t *testing.T) {
	for _, throttle := range []float64{0, 0.2} {
		e := cloudcontrol.New()
		fill(t, e, "eu-west-1", 25)
		e.SetThrottle(throttle, 3)
		opts := fastOptions()
		opts.RequestsPerSecond, opts.FixedPace = 100, true
		opts.Burst = 1
		opts.MaxRetries = 20
		c := reader(t, e, opts)
		start := time.Now()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{}); err != nil || len(times) != 25 {
					t.Errorf("listed %d, %v", len(times), err)
				}
			}()
		}
		wg.Wait()
		d := time.Since(start)
		total := e.TotalCounts()
		perSecond := float64(total.Calls-1) / d.Seconds() // the first call is the burst
		t.Logf("throttle %.0f%%: %d calls (%d throttled) in %s: %.1f calls/s", throttle*100, total.Calls, total.Throttled, d, perSecond)
		if total.Calls < 104 || (throttle > 0 && total.Throttled == 0) {
			t.Fatalf("%d calls, %d throttled: the test proves nothing", total.Calls, total.Throttled)
		}
		if perSecond > 103 || perSecond < 80 {
			t.Errorf("throttle %.0f%%: %.1f calls/s, want 80..103 at a pace of 100/s", throttle*100, perSecond)
		}
	}
}

// TestCancelStopsListingPromptly: a listing with a 60 s deadline that is
// cancelled while it backs off, waits for the pace or waits for an answer
// returns at once with the cancellation.
func TestCancelStopsListingPromptly(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*cloudcontrol.Emulator, *source.Options)
	}{
		{"in backoff", func(e *cloudcontrol.Emulator, o *source.Options) {
			e.SetThrottle(1, 1)
			o.MaxRetries, o.BackoffBase, o.BackoffCap = 30, 5*time.Second, 20*time.Second
		}},
		{"waiting for the pace", func(_ *cloudcontrol.Emulator, o *source.Options) {
			o.RequestsPerSecond, o.Burst = 0.1, 1
		}},
		{"waiting for an answer", func(e *cloudcontrol.Emulator, _ *source.Options) {
			e.SetLatency(30 * time.Second)
		}},
		{"SDK adaptive mode, throttled", func(e *cloudcontrol.Emulator, o *source.Options) {
			e.SetThrottle(0.9, 1)
			o.AdaptivePacing, o.MaxRetries = true, 30
		}},
		{"adaptive pace, throttled", func(e *cloudcontrol.Emulator, o *source.Options) {
			e.SetThrottle(0.9, 1)
			o.RequestsPerSecond, o.MaxRetries = 0, 30
		}},
	}
	if len(cases) < 5 {
		t.Fatal("too few cases")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := cloudcontrol.New()
			fill(t, e, "eu-west-1", 60)
			opts := fastOptions()
			tc.setup(e, &opts)
			c := reader(t, e, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			_, _, err := collect(ctx, c, lambdaShard("eu-west-1"), source.ListOptions{})
			d := time.Since(start)
			if !errors.Is(err, context.Canceled) || source.Cause(err) != source.CauseCanceled || !source.IsTransient(err) {
				t.Errorf("cancelled listing: %v (Cause %q), want context.Canceled, transient", err, source.Cause(err))
			}
			if d > 800*time.Millisecond {
				t.Errorf("listing returned %s after start, %s after the cancellation", d, d-300*time.Millisecond)
			}
		})
	}
}

// capacityServer serves the emulator but answers ThrottlingException to
// calls beyond perSecond, as Cloud Control does past an account's limit.
type capacityServer struct {
	limiter          *rate.Limiter
	calls, throttled atomic.Int64
}

func (s *capacityServer) serve(t testing.TB, e *cloudcontrol.Emulator) *cloudcontrol.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if !s.limiter.Allow() {
			s.throttled.Add(1)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
			return
		}
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &cloudcontrol.Server{URL: srv.URL}
}

// pacingMode is how pacingRun's reader paces.
type pacingMode struct {
	name string
	set  func(*source.Options)
}

var (
	fixed400 = pacingMode{"fixed 400/s", func(o *source.Options) { o.RequestsPerSecond, o.FixedPace = 400, true }}
	sdkMode  = pacingMode{"SDK adaptive mode", func(o *source.Options) { o.RequestsPerSecond, o.AdaptivePacing = -1, true }}
	ours     = pacingMode{"adaptive pace", func(o *source.Options) { o.RequestsPerSecond = 0 }}
)

// pacingRun lists 4 shards of perShard resources at once against a server
// that allows capacity calls/s (burst 5), and returns the share of
// throttled answers and the calls answered per second.
func pacingRun(t testing.TB, mode pacingMode, capacity float64, perShard int) (throttledShare, perSecond float64) {
	t.Helper()
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", perShard)
	s := &capacityServer{limiter: rate.NewLimiter(rate.Limit(capacity), 5)}
	opts := fastOptions()
	opts.MaxRetries = 40
	opts.BackoffBase, opts.BackoffCap = 10*time.Millisecond, 200*time.Millisecond
	mode.set(&opts)
	c := source.NewCloudControl(s.serve(t, e).AWSConfig("eu-west-1"), opts)
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{}); err != nil || len(times) != perShard {
				t.Errorf("listed %d, %v", len(times), err)
			}
		}()
	}
	wg.Wait()
	calls, throttled := s.calls.Load(), s.throttled.Load()
	return float64(throttled) / float64(calls), float64(calls-throttled) / time.Since(start).Seconds()
}

// TestAdaptivePacingFollowsTheServersLimit: against a server that allows
// 100 calls/s, a fixed pace of 400/s lives on retries (most calls
// throttled); the SDK's adaptive mode (botocore's) avoids throttling but
// settles well under the limit; the reader's adaptive pace, with no ceiling
// and no rate given, keeps at least 60 % of the fixed pace's throughput
// (83–86 % of the limit on an idle machine) with at most 30 % of the
// calls throttled (it starts at 10/s). Figures in BENCHMARKS.md.
func TestAdaptivePacingFollowsTheServersLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 20 s")
	}
	const capacity, perShard = 100, 150
	fixedShare, fixedRate := pacingRun(t, fixed400, capacity, perShard)
	sdkShare, sdkRate := pacingRun(t, sdkMode, capacity, perShard)
	oursShare, oursRate := pacingRun(t, ours, capacity, perShard)
	t.Logf("server limit %d/s: %s %.0f%% throttled, %.0f calls/s; %s %.0f%%, %.0f/s; %s %.0f%%, %.0f/s", capacity,
		fixed400.name, fixedShare*100, fixedRate, sdkMode.name, sdkShare*100, sdkRate, ours.name, oursShare*100, oursRate)
	if fixedShare < 0.3 {
		t.Fatalf("fixed pace throttled %.0f%%: the server limit did not bite, the test proves nothing", fixedShare*100)
	}
	if oursShare > 0.3 {
		t.Errorf("adaptive pace throttled %.0f%% of calls, want at most 30%%", oursShare*100)
	}
	// Relative to the fixed pace, which lives at the server's limit: on a
	// loaded machine both slow down (speed goals live in the bench).
	if oursRate < 0.6*fixedRate {
		t.Errorf("adaptive pace answered %.0f calls/s, the fixed pace at the limit %.0f: want at least 60%%", oursRate, fixedRate)
	}
	if oursRate <= sdkRate {
		t.Errorf("adaptive pace %.0f calls/s, the SDK's adaptive mode %.0f: want faster", oursRate, sdkRate)
	}
}

// TestMaxRetriesIsTheBudget: an SDK-wide max attempts (AWS_MAX_ATTEMPTS,
// aws.Config.RetryMaxAttempts) does not change the reader's budget.
func TestMaxRetriesIsTheBudget(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1)
	e.SetThrottle(1, 1)
	cfg := serve(t, e).AWSConfig("eu-west-1")
	cfg.RetryMaxAttempts = 10
	opts := fastOptions()
	opts.MaxRetries = 2
	_, err := source.NewCloudControl(cfg, opts).Get(context.Background(), source.Shard{Region: "eu-west-1", Kind: lambdaType}, "fn-00000")
	if !errors.Is(err, source.ErrThrottled) {
		t.Fatalf("always throttled: %v", err)
	}
	if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != 3 {
		t.Errorf("%d attempts with MaxRetries 2 and RetryMaxAttempts 10, want 3", n)
	}
}
