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
//
// The slow pace lasts until the reset the headers announced, or until an
// answer says the window has plenty again, whichever comes first. Requests
// that wait while slowed hold no reservation: a reservation made at the slow
// pace would keep its delay after the window resets (a 7 s stall in a 5 s
// sync was measured), so they poll for a token instead, sleeping until the
// next token, the reset, or a change of pace, whichever comes first.
type pacer struct {
	limiter *rate.Limiter // nil when unpaced
	base    rate.Limit

	mu         sync.Mutex
	slowed     bool
	slowUntil  time.Time // the reset announced when slowing down
	current    rate.Limit
	paceRaised chan struct{} // closed (and replaced) when the pace goes back up
}

func newPacer(perSecond float64, burst int) *pacer {
	if perSecond < 0 {
		return &pacer{}
	}
	return &pacer{
		limiter:    rate.NewLimiter(rate.Limit(perSecond), burst),
		base:       rate.Limit(perSecond),
		current:    rate.Limit(perSecond),
		paceRaised: make(chan struct{}),
	}
}

// maxSlowPoll bounds one sleep of a request waiting at the slow pace, so a
// lost wake-up costs at most this much.
const maxSlowPoll = 250 * time.Millisecond

func (p *pacer) wait(ctx context.Context) error {
	if p.limiter == nil {
		return ctx.Err()
	}
	for {
		slowed, until, raised := p.state(time.Now())
		if !slowed {
			// At the configured pace reservations are fair and never
			// outlive a change: the pace only ever drops below it.
			return p.limiter.Wait(ctx)
		}
		now := time.Now()
		if p.limiter.AllowN(now, 1) {
			return ctx.Err()
		}
		sleep := maxSlowPoll
		// Compared in seconds first: at a pace of one per day the time to
		// the next token does not fit a Duration safely.
		if lim := p.limiter.Limit(); lim > 0 {
			if secs := (1 - p.limiter.TokensAt(now)) / float64(lim); secs < sleep.Seconds() {
				sleep = time.Duration(secs*float64(time.Second)) + time.Millisecond
			}
		}
		sleep = min(sleep, until.Sub(now))
		if err := sleepOrRaise(ctx, max(sleep, time.Millisecond), raised); err != nil {
			return err
		}
	}
}

// state returns whether the slow pace is in effect at now, when it ends, and
// the channel closed when the pace goes back up. It restores the configured
// pace once the announced reset has passed: the new window has its whole
// budget, whether or not an answer has said so yet.
func (p *pacer) state(now time.Time) (slowed bool, until time.Time, raised <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slowed && !now.Before(p.slowUntil) {
		p.restoreLocked()
	}
	return p.slowed, p.slowUntil, p.paceRaised
}

// restoreLocked goes back to the configured pace and wakes the waiters.
func (p *pacer) restoreLocked() {
	p.slowed = false
	p.current = p.base
	p.limiter.SetLimit(p.base)
	close(p.paceRaised)
	p.paceRaised = make(chan struct{})
}

func sleepOrRaise(ctx context.Context, d time.Duration, raised <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-raised:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
			p.restoreLocked()
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
	raised := next > p.current
	p.slowed = true
	p.slowUntil = now.Add(untilReset)
	p.current = next
	p.limiter.SetLimit(next)
	if raised {
		// Waiters sleeping toward a token at the slower pace come sooner.
		close(p.paceRaised)
		p.paceRaised = make(chan struct{})
	}
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
