package port

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// lowRemainingShare is the share of the window's limit below which the
// pacer stops trusting its configured rate and follows Port's headers.
const lowRemainingShare = 0.1

// pacer spaces requests out at the configured rate, and slows down when Port
// says the organization's budget for the window is nearly spent: with R
// requests left and S seconds to the reset, it paces at R/S (never faster
// than configured) so the budget lasts until the reset instead of ending in
// a wall of 429s. Port's limits are per organization, so other clients may
// be spending the same budget; following the headers accounts for them too.
// When a new window leaves plenty again, the configured rate comes back.
type pacer struct {
	limiter *rate.Limiter // nil when unpaced
	base    rate.Limit

	mu      sync.Mutex
	slowed  bool
	current rate.Limit
}

func newPacer(perSecond float64, burst int) *pacer {
	if perSecond < 0 {
		return &pacer{}
	}
	return &pacer{limiter: rate.NewLimiter(rate.Limit(perSecond), burst), base: rate.Limit(perSecond), current: rate.Limit(perSecond)}
}

func (p *pacer) wait(ctx context.Context) error {
	if p.limiter == nil {
		return ctx.Err()
	}
	return p.limiter.Wait(ctx)
}

// observe adapts the pace to the x-ratelimit-* headers of an answer.
func (p *pacer) observe(h http.Header, now time.Time) {
	if p.limiter == nil {
		return
	}
	limit, errL := strconv.Atoi(h.Get("x-ratelimit-limit"))
	remaining, errR := strconv.Atoi(h.Get("x-ratelimit-remaining"))
	if errL != nil || errR != nil || limit <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if float64(remaining) > lowRemainingShare*float64(limit) {
		if p.slowed {
			p.slowed = false
			p.current = p.base
			p.limiter.SetLimit(p.base)
		}
		return
	}
	untilReset, ok := resetIn(h.Get("x-ratelimit-reset"), now)
	if !ok || untilReset <= 0 {
		untilReset = time.Second
	}
	next := rate.Limit(float64(max(remaining, 1)) / untilReset.Seconds())
	if next > p.base {
		next = p.base
	}
	p.slowed = true
	p.current = next
	p.limiter.SetLimit(next)
}

// rate is the pace in effect, for tests and logs.
func (p *pacer) rate() rate.Limit {
	if p.limiter == nil {
		return rate.Inf
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// epochThreshold tells a Unix time from a number of seconds in
// x-ratelimit-reset: no window is a billion seconds long.
const epochThreshold = 1_000_000_000

// resetIn reads x-ratelimit-reset, which clients in the wild see both as
// seconds from now and as a Unix time.
func resetIn(v string, now time.Time) (time.Duration, bool) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	if n >= epochThreshold {
		n -= float64(now.UnixNano()) / float64(time.Second)
	}
	return seconds(n), true
}

// maxAdvisedWait bounds what a header can ask for; a larger number is a
// broken header, and the 429 wait cap applies anyway.
const maxAdvisedWait = 24 * time.Hour

// seconds converts a number of seconds from a header to a duration in
// [0, maxAdvisedWait], safe from overflow.
func seconds(n float64) time.Duration {
	switch {
	case n <= 0:
		return 0
	case n >= maxAdvisedWait.Seconds():
		return maxAdvisedWait
	}
	return time.Duration(n * float64(time.Second))
}

// rateLimitWait is how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else x-ratelimit-reset. advised is false when neither says.
func rateLimitWait(h http.Header, now time.Time) (wait time.Duration, advised bool) {
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsNaN(secs) {
			return seconds(secs), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return seconds(at.Sub(now).Seconds()), true
		}
	}
	if d, ok := resetIn(h.Get("x-ratelimit-reset"), now); ok {
		return d, true
	}
	return 0, false
}
