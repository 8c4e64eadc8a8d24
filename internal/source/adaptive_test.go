package source

import (
	"math"
	"testing"
	"time"
)

// TestAdaptiveRateTrajectory drives the pace with a fake clock through
// scripted answers and checks the rate after each step.
func TestAdaptiveRateTrajectory(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms       int  // when the answer comes
		throttle bool // else a success
		sentMS   int  // throttle: when the call took its token
		waited   bool // success: the call waited for its token
		want     float64
	}
	inf := math.Inf(1)
	cases := []struct {
		name           string
		start, ceiling float64
		steps          []step
	}{
		{"slow start doubles every 2 calls' time at 10/s (0.2 s)", 10, inf, []step{
			{ms: 50, waited: true, want: 10 * math.Pow(2, 0.05/0.2)},
			// now at 11.9/s, so doubling takes 2 / 11.9 s
			{ms: 100, waited: true, want: slowStarted(10*math.Pow(2, 0.05/0.2), 0.05)},
		}},
		{"slow start doubles every 100 ms at high rates", 100, inf, []step{
			{ms: 50, waited: true, want: 100 * math.Sqrt2},
			{ms: 100, waited: true, want: 200},
		}},
		{"no growth when no call waited for the pace", 10, inf, []step{
			{ms: 50, waited: false, want: 10},
			{ms: 100, waited: false, want: 10},
			{ms: 150, waited: true, want: 10 * math.Pow(2, 0.05/0.2)}, // only the 50 ms since the last success
		}},
		{"growth credit is capped after a pause", 100, inf, []step{
			{ms: 5000, waited: true, want: 100 * math.Pow(2, 0.25/0.1)},
		}},
		{"first throttle halves, later ones cut to 0.8", 100, inf, []step{
			{ms: 10, throttle: true, sentMS: 5, want: 50},
			{ms: 20, throttle: true, sentMS: 15, want: 40},
		}},
		{"throttles of calls reserved before the cut do not cut again", 100, inf, []step{
			{ms: 100, throttle: true, sentMS: 50, want: 50},
			{ms: 110, throttle: true, sentMS: 60, want: 50},
			{ms: 120, throttle: true, sentMS: 99, want: 50},
			{ms: 130, throttle: true, sentMS: 100, want: 40},
		}},
		{"after a cut the pace is back in recoveryTime at high rates", 100, inf, []step{
			{ms: 0, throttle: true, sentMS: 0, want: 50},
			{ms: 0, throttle: true, sentMS: 0, want: 40},
			{ms: 250, waited: true, want: 40 * math.Pow(1/0.8, 0.25)},
			{ms: 500, waited: true, want: 40 * math.Pow(1/0.8, 0.5)},
			{ms: 750, waited: true, want: 40 * math.Pow(1/0.8, 0.75)},
			{ms: 1000, waited: true, want: 50},
		}},
		{"after a cut the pace is back in recoveryCalls calls at low rates", 8, inf, []step{
			{ms: 0, throttle: true, sentMS: 0, want: 4},
			// recovery 16 / 4 = 4 s; 500 ms of it
			{ms: 500, waited: true, want: 4 * math.Pow(1/0.8, 0.5/4)},
		}},
		{"the ceiling caps the start and the growth", 50, 20, []step{
			{ms: 0, waited: true, want: 20},
			{ms: 1000, waited: true, want: 20},
		}},
		{"the floor", 1, inf, []step{
			{ms: 0, throttle: true, sentMS: 0, want: 0.5},
			{ms: 10, throttle: true, sentMS: 5, want: 0.5},
		}},
		{"a ceiling below the floor is the floor", 0.2, 0.2, []step{
			{ms: 0, throttle: true, sentMS: 0, want: 0.2},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdaptiveRate(tc.start, tc.ceiling, t0)
			for i, s := range tc.steps {
				var got float64
				if s.throttle {
					got, _ = a.throttled(at(s.ms), at(s.sentMS))
				} else {
					got = a.succeeded(at(s.ms), s.waited)
				}
				if math.Abs(got-s.want) > 1e-6*s.want {
					t.Fatalf("step %d (%+v): rate %.6f, want %.6f", i, s, got, s.want)
				}
			}
		})
	}
}

// TestAdaptiveRateSettlesAtTheServersLimit simulates a server bucket of
// rate R (burst R) and a reader whose demand is always above its pace, in
// 1 ms steps, for 20 s: the calls admitted must be within 90 % of what the
// bucket allows and the throttled ones under 10 % of them, at 4, 60 and
// 400 calls/s.
func TestAdaptiveRateSettlesAtTheServersLimit(t *testing.T) {
	for _, limit := range []float64{4, 60, 400} {
		t0 := time.Unix(0, 0)
		a := newAdaptiveRate(0, 0, t0)
		bucket, credit := limit, 0.0
		admitted, throttled := 0, 0
		const steps = 20_000
		for i := 1; i <= steps; i++ {
			now := t0.Add(time.Duration(i) * time.Millisecond)
			bucket = math.Min(limit, bucket+limit/1000)
			credit += a.current() / 1000
			for credit >= 1 {
				credit--
				if bucket >= 1 {
					bucket--
					admitted++
					a.succeeded(now, true)
				} else {
					throttled++
					a.throttled(now, now.Add(-time.Millisecond))
				}
			}
		}
		allowed := limit * (1 + steps/1000)
		t.Logf("limit %.0f/s: %d admitted of %.0f allowed (%.0f%%), %d throttled, pace at the end %.1f",
			limit, admitted, allowed, 100*float64(admitted)/allowed, throttled, a.current())
		if float64(admitted) < 0.9*allowed {
			t.Errorf("limit %.0f/s: admitted %d of %.0f, want at least 90%%", limit, admitted, allowed)
		}
		if float64(throttled) > 0.15*float64(admitted) {
			t.Errorf("limit %.0f/s: %d throttled for %d admitted, want under 15%%", limit, throttled, admitted)
		}
	}
}

// slowStarted is r after dt seconds of slow start at low rates (slowStartCalls calls per doubling).
func slowStarted(r, dt float64) float64 { return r * math.Pow(2, dt*r/slowStartCalls) }
