package bench

import (
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// RegionLimiter enforces a Cloud Control request rate per region in front of
// the emulator, which has latency and a random throttle share but no rate
// knob. Over the rate it answers ThrottlingException exactly as the emulator
// does (HTTP 400, AWS JSON 1.0, "__type"), so the SDK yields the same typed
// error it yields against AWS. The region comes from the SigV4 credential
// scope, as in the emulator; a request without one goes through unlimited
// and the emulator refuses it.
type RegionLimiter struct {
	next  http.Handler
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
	admitted  map[string]int
	throttled atomic.Int64
}

// NewRegionLimiter lets perSecond requests a second through to next for each
// region, with bursts of up to burst requests (AWS refills a token bucket).
func NewRegionLimiter(next http.Handler, perSecond float64, burst int) *RegionLimiter {
	return &RegionLimiter{next: next, rate: rate.Limit(perSecond), burst: max(1, burst), limiters: map[string]*rate.Limiter{}, admitted: map[string]int{}}
}

func (l *RegionLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	region, err := cloudcontrol.RegionFromAuthorization(r.Header.Get("Authorization"))
	if err == nil && !l.allow(region) {
		l.throttled.Add(1)
		writeThrottling(w)
		return
	}
	l.next.ServeHTTP(w, r)
}

// writeThrottling answers as Cloud Control does over its rate.
func writeThrottling(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
}

func (l *RegionLimiter) allow(region string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiters[region]
	if lim == nil {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.limiters[region] = lim
	}
	if !lim.Allow() {
		return false
	}
	l.admitted[region]++
	return true
}

// Admitted is how many requests of each region the limiter let through.
func (l *RegionLimiter) Admitted() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.admitted))
	for r, n := range l.admitted {
		out[r] = n
	}
	return out
}

// Throttled is how many requests the limiter refused.
func (l *RegionLimiter) Throttled() int { return int(l.throttled.Load()) }
