package source

import (
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// TestBackoffStaysWithinBounds checks the SDK retryer as the reader
// configures it: the n-th retry waits in [0, min(cap, base·2ⁿ⁻¹)), for
// throttling too (the SDK would otherwise start throttled retries at 1 s),
// and the attempt budget is MaxRetries + 1.
func TestBackoffStaysWithinBounds(t *testing.T) {
	errs := []error{
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
		&smithy.GenericAPIError{Code: "ServiceInternalErrorException", Message: "oops"},
	}
	cases := []struct {
		base, cap time.Duration
		adaptive  bool
	}{
		{250 * time.Millisecond, 20 * time.Second, false},
		{time.Millisecond, 5 * time.Millisecond, true},
		{time.Hour, 2 * time.Hour, false}, // base·2ⁿ overflows int64 quickly
		{time.Nanosecond, time.Nanosecond, false},
	}
	if len(cases) < 4 {
		t.Fatal("too few cases")
	}
	for _, tc := range cases {
		o := Options{BackoffBase: tc.base, BackoffCap: tc.cap, MaxRetries: 5, AdaptivePacing: tc.adaptive}.withDefaults()
		r := o.newRetryer()
		if r.MaxAttempts() != 6 {
			t.Errorf("MaxAttempts %d with MaxRetries 5, want 6", r.MaxAttempts())
		}
		var longest time.Duration
		for attempt := 1; attempt <= 100; attempt++ {
			ceiling := tc.cap
			if attempt <= 20 {
				ceiling = min(tc.cap, tc.base*(1<<(attempt-1)))
			}
			for _, err := range errs {
				for range 20 {
					d, e := r.RetryDelay(attempt, err)
					if e != nil || d < 0 || d > ceiling {
						t.Fatalf("base %s cap %s attempt %d (%v): backoff %s, %v; want in [0, %s]", tc.base, tc.cap, attempt, err, d, e, ceiling)
					}
					longest = max(longest, d)
				}
			}
		}
		if tc.cap >= time.Millisecond && longest < tc.cap/2 {
			t.Errorf("base %s cap %s: longest backoff %s, want jitter up to the cap", tc.base, tc.cap, longest)
		}
	}
	if (Options{MaxRetries: -1}).withDefaults().newRetryer().MaxAttempts() != 1 {
		t.Error("MaxRetries < 0 must mean one attempt")
	}
}
