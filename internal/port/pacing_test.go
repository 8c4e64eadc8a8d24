package port

import (
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
	p := newPacer(100, 10)
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
	f.Add("7", "60", "1000", "5")
	f.Add("Thu, 01 Jan 2026 00:00:20 GMT", "1767225630", "10", "0")
	f.Add("", "-1", "0", "-3")
	f.Add("1e400", "NaN", "99999999999999999999", "1")
	f.Fuzz(func(t *testing.T, retryAfter, reset, limit, remaining string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("x-ratelimit-reset", reset)
		h.Set("x-ratelimit-limit", limit)
		h.Set("x-ratelimit-remaining", remaining)
		if d, _ := rateLimitWait(h, testNow); d < 0 {
			t.Fatalf("negative wait %s", d)
		}
		p := newPacer(100, 10)
		p.observe(h, testNow)
		if r := float64(p.rate()); !(r > 0 && r <= 100) {
			t.Fatalf("pace %v out of (0, 100]", r)
		}
	})
}
