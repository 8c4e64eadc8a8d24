package port

import (
	"context"
	"math"
	"net/http"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type rateLimitCases struct {
	Waits []struct {
		Name    string            `json:"name"`
		Headers map[string]string `json:"headers"`
		Wait    string            `json:"wait"`
		Advised bool              `json:"advised"`
	} `json:"waits"`
	Pacing []struct {
		Name    string            `json:"name"`
		Headers map[string]string `json:"headers"`
		Rate    float64           `json:"rate"`
	} `json:"pacing"`
}

func loadRateLimitCases(t *testing.T) rateLimitCases {
	t.Helper()
	raw, err := os.ReadFile("testdata/ratelimit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases rateLimitCases
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/ratelimit.yaml: %v", err)
	}
	if len(cases.Waits) == 0 || len(cases.Pacing) == 0 {
		t.Fatal("testdata/ratelimit.yaml has no cases")
	}
	return cases
}

func header(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func TestRateLimitWait(t *testing.T) {
	for _, tc := range loadRateLimitCases(t).Waits {
		t.Run(tc.Name, func(t *testing.T) {
			want, err := time.ParseDuration(tc.Wait)
			if err != nil {
				t.Fatal(err)
			}
			got, advised := rateLimitWait(header(tc.Headers), testNow)
			if got != want || advised != tc.Advised {
				t.Errorf("got %s advised=%v, want %s advised=%v", got, advised, want, tc.Advised)
			}
		})
	}
}

func TestPacerFollowsRemainingBudget(t *testing.T) {
	p := newPacer(100, 10, nil)
	for _, step := range loadRateLimitCases(t).Pacing {
		p.observe(header(step.Headers), testNow)
		if got := float64(p.rate()); math.Abs(got-step.Rate) > 1e-9 {
			t.Fatalf("%s: rate %v, want %v", step.Name, got, step.Rate)
		}
		if got := float64(p.limiter.Limit()); math.Abs(got-step.Rate) > 1e-9 {
			t.Fatalf("%s: limiter at %v, pacer says %v", step.Name, got, step.Rate)
		}
	}
}

// FuzzRateLimitHeaders: whatever Port or a proxy sends, the wait is never
// negative and the pace never exceeds the configured rate nor drops to zero.
func FuzzRateLimitHeaders(f *testing.F) {
	f.Add("7", "60", "1000", "5", "")
	f.Add("Thu, 01 Jan 2026 00:00:20 GMT", "1767225630", "10", "0", "1")
	f.Add("", "-1", "0", "-3", "300")
	f.Add("1e400", "NaN", "99999999999999999999", "1", "1e-300")
	f.Fuzz(func(t *testing.T, retryAfter, reset, limit, remaining, period string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("x-ratelimit-reset", reset)
		h.Set("x-ratelimit-limit", limit)
		h.Set("x-ratelimit-remaining", remaining)
		h.Set("x-ratelimit-period", period)
		if d, _ := rateLimitWait(h, testNow); d < 0 {
			t.Fatalf("negative wait %s", d)
		}
		p := newPacer(100, 10, nil)
		now := time.Now() // the pacer's tickets carry the real send time
		p.observe(h, now)
		if r := float64(p.rate()); !(r > 0 && r <= 100) {
			t.Fatalf("pace %v out of (0, 100]", r)
		}
		// Whatever the headers said, the gate opens again: no window
		// lasts past the longest advised wait.
		p.mu.Lock()
		until, _ := p.gateLocked(now.Add(maxAdvisedWait + time.Minute))
		p.mu.Unlock()
		if !until.IsZero() {
			t.Fatalf("gate still closed a day later, until %v", until)
		}
	})
}

// waitAll starts n waits at once and returns how long the last took.
func waitAll(t *testing.T, p *pacer, n int) time.Duration {
	t.Helper()
	start := time.Now()
	errs := make(chan error, n)
	for range n {
		go func() { _, err := p.wait(context.Background()); errs <- err }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return time.Since(start)
}

// TestSlowPaceEndsAtTheAnnouncedReset: one request left with the reset
// 3 s away slows the pacer to one per 3 s, but only until the reset;
// waits queued at the slow pace would take 27 s for ten requests.
func TestSlowPaceEndsAtTheAnnouncedReset(t *testing.T) {
	t.Parallel()
	p := newPacer(100, 1, nil)
	start := time.Now()
	p.observe(header(map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "3"}), start)
	if r := float64(p.rate()); math.Abs(r-1/3.0) > 1e-6 {
		t.Fatalf("pace %v, want %v", r, 1/3.0)
	}
	d := waitAll(t, p, 10)
	if d > 5*time.Second {
		t.Errorf("ten waits took %s; the configured 100/s should have returned at the reset (3 s)", d)
	}
	if d < 2900*time.Millisecond {
		t.Errorf("ten waits took %s with one request left until a reset 3 s away", d)
	}
	if r := p.rate(); r != 100 {
		t.Errorf("pace %v after the reset, want the configured 100", r)
	}
}

// TestGateHoldsAShortWindow: one request left with the reset 0.3 s away is
// too short a window to spread (x-ratelimit-reset has whole seconds), so
// the pace stays, but the window gate lets only that one go before the reset.
func TestGateHoldsAShortWindow(t *testing.T) {
	t.Parallel()
	p := newPacer(100, 1, nil)
	p.observe(header(map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "0.3"}), time.Now())
	if r := p.rate(); r != 100 {
		t.Fatalf("pace %v, want the configured 100 (no spread under %s)", r, minSpreadWindow)
	}
	d := waitAll(t, p, 10)
	if d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("ten waits took %s; want one at once and nine after the reset 0.3 s away, at 100/s", d)
	}
}

// TestRaisedPaceWakesWaiters: an answer saying the window has plenty again
// releases requests waiting at a pace of one per 10 s.
func TestRaisedPaceWakesWaiters(t *testing.T) {
	t.Parallel()
	p := newPacer(100, 1, nil)
	p.observe(header(map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "10"}), time.Now())
	go func() {
		time.Sleep(100 * time.Millisecond)
		p.observe(header(map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "1000", "x-ratelimit-reset": "60"}), time.Now())
	}()
	if d := waitAll(t, p, 5); d > 2*time.Second {
		t.Errorf("five waits took %s; the raised pace should have released them after 0.1 s", d)
	}
}

// TestGateOpensWithoutAReset: an answer saying nothing is left, with no
// x-ratelimit-reset, must not close the gate for good: the window is taken
// to end a period (here none stated: a second) after it.
func TestGateOpensWithoutAReset(t *testing.T) {
	t.Parallel()
	p := newPacer(100, 1, nil)
	p.observe(header(map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0"}), time.Now())
	if d := waitAll(t, p, 3); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("three waits took %s; want them held about a second, not for good", d)
	}
}
