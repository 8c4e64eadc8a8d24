package port

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// lowRemainingShare is the share of the window's limit below which the
// pacer spreads what is left of a long window until its reset.
const lowRemainingShare = 0.1

// minSpreadWindow is the shortest time to the reset over which the pacer
// spreads the rest of a window: x-ratelimit-reset comes in whole seconds, so
// below two seconds it says little, and the window gate (below) already
// keeps a short window from running over.
const minSpreadWindow = 2 * time.Second

// windowEndMargin is added to a window's end as the pacer infers it from the
// send time of the window's first request: the next window's first request
// must not reach Port a hair before the reset. A share of the period,
// between a few milliseconds and a tenth of a second.
func windowEndMargin(period time.Duration) time.Duration {
	return min(max(5*time.Millisecond, period/50), 100*time.Millisecond)
}

// pacer keeps the client within the organization's Port budget, which Port
// states in every answer's x-ratelimit-* headers rather than in any document
// (the last published figure, 35,000 per 5 minutes, is only where it starts):
//
//   - Pace: requests are spaced at x-ratelimit-limit ÷ x-ratelimit-period,
//     under the configured ceiling if any, so a budget 10 times smaller or
//     larger than the default is found from the first answer, with no flag.
//     Before any answer the pace is the start rate (DefaultRequestsPerSecond
//     under the ceiling), and only one request is in flight: the first
//     answer tells the budget before a burst could run over a small one.
//   - Window gate: an answer says how many requests the window has left
//     (x-ratelimit-remaining); the pacer lets no more go until the window
//     resets, counting the requests sent after that answer's request. Port's
//     limits are per organization, so the count includes other clients'
//     requests. The reset is x-ratelimit-reset (seconds from now or a Unix
//     time, in whole seconds), or, sharper, the send time of the window's
//     first request (remaining = limit − 1) plus the period.
//   - Spread: when a long window is nearly spent (≤ 10 % left, reset ≥ 2 s
//     away) the pace is what is left ÷ the time to the reset, so the budget
//     lasts until the reset instead of ending in a wall of 429s.
//
// The slow pace lasts until the announced reset, or until an answer says
// the window has plenty again. Requests that wait while slowed or gated hold
// no reservation: a reservation made at a slow pace would keep its delay
// after the window resets (a 7 s stall in a 5 s sync was measured), so they
// sleep until the next token, the reset, or a change, whichever comes first.
type pacer struct {
	limiter *rate.Limiter // nil when unpaced
	ceiling rate.Limit    // rate.Inf: none
	onPace  func(perSecond float64)

	mu         sync.Mutex
	base       rate.Limit // the budget's pace, or the start pace before Port said
	current    rate.Limit // base, or the spread pace while slowed
	slowed     bool
	slowUntil  time.Time     // the reset announced when slowing down
	paceRaised chan struct{} // closed (and replaced) when a waiter may go sooner

	// What Port said of the window.
	heard      bool   // an answer came back: requests are no longer probes
	unanswered int    // tickets given and not yet done
	sent       uint64 // tickets given so far
	budget     bool   // an answer carried x-ratelimit-limit and -remaining
	limit      int
	// The newest answer's view: remaining requests in the window, less the
	// requests then unanswered (pending: each may or may not have been
	// counted yet, so it is counted), less those sent since (sent − knownSent).
	remaining    int
	knownPending int
	knownSent    uint64
	windowEnd    time.Time // when that window resets; zero: unknown
	resetSeq     uint64    // tickets up to this one went before the window was last taken as reset
	firstAt      time.Time // send time of the window's first request, if seen
	period       time.Duration
}

// ticket is one request let through: its place in the order of requests and
// when it went, handed back with its answer.
type ticket struct {
	seq    uint64
	sentAt time.Time
}

func newPacer(perSecond float64, burst int, onPace func(float64)) *pacer {
	if perSecond < 0 {
		if onPace != nil {
			onPace(math.Inf(1))
		}
		return &pacer{}
	}
	ceiling := rate.Limit(perSecond)
	if perSecond == 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		ceiling = rate.Inf
	}
	start := min(rate.Limit(DefaultRequestsPerSecond), ceiling)
	if onPace != nil {
		onPace(float64(start))
	}
	return &pacer{
		limiter:    rate.NewLimiter(start, burst),
		ceiling:    ceiling,
		onPace:     onPace,
		base:       start,
		current:    start,
		paceRaised: make(chan struct{}),
	}
}

// maxSlowPoll bounds one sleep of a request waiting at the slow pace or the
// gate, so a lost wake-up costs at most this much.
const maxSlowPoll = 250 * time.Millisecond

// unpacedTicket is given to requests that are not paced (the token's): they
// still count in the window and their answers still teach the budget.
func (p *pacer) unpacedTicket() ticket {
	if p.limiter == nil {
		return ticket{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent++
	p.unanswered++
	return ticket{seq: p.sent, sentAt: time.Now()}
}

// wait lets one request go: after the first answer (one probe at a time
// before it), while the window has requests left, at the pace.
func (p *pacer) wait(ctx context.Context) (ticket, error) {
	if p.limiter == nil {
		return ticket{}, ctx.Err()
	}
	tk, err := p.admit(ctx)
	if err != nil {
		return ticket{}, err
	}
	if err := p.token(ctx); err != nil {
		p.done(tk, nil, time.Now())
		return ticket{}, err
	}
	tk.sentAt = time.Now()
	return tk, nil
}

// admit waits for the probe and the window gate and takes a ticket.
func (p *pacer) admit(ctx context.Context) (ticket, error) {
	for {
		now := time.Now()
		p.mu.Lock()
		p.restoreIfResetLocked(now)
		until, raised := p.gateLocked(now)
		if until.IsZero() {
			p.sent++
			p.unanswered++
			tk := ticket{seq: p.sent}
			p.mu.Unlock()
			return tk, nil
		}
		p.mu.Unlock()
		if err := sleepOrRaise(ctx, max(min(until.Sub(now), maxSlowPoll), time.Millisecond), raised); err != nil {
			return ticket{}, err
		}
	}
}

// gateLocked returns the zero time when a request may go now, else until
// when to sleep (at most; a change closes raised); p.mu held.
func (p *pacer) gateLocked(now time.Time) (until time.Time, raised <-chan struct{}) {
	if !p.heard && p.unanswered > 0 {
		return now.Add(maxSlowPoll), p.paceRaised // the probe's answer wakes us
	}
	if !p.budget {
		return time.Time{}, nil
	}
	if !p.windowEnd.IsZero() && !now.Before(p.windowEnd) {
		// The window has reset: its whole limit, less what goes from now on.
		// Requests still in flight may land in it.
		p.remaining, p.knownPending, p.knownSent = p.limit, p.unanswered, p.sent
		p.windowEnd, p.firstAt, p.resetSeq = time.Time{}, time.Time{}, p.sent
	}
	if left := p.remaining - p.knownPending - int(p.sent-p.knownSent); left > 0 {
		return time.Time{}, nil
	}
	if p.windowEnd.IsZero() {
		return now.Add(maxSlowPoll), p.paceRaised
	}
	return p.windowEnd, p.paceRaised
}

// token takes a token of the pace: a fair reservation at the budget's pace,
// a polled one while slowed.
func (p *pacer) token(ctx context.Context) error {
	for {
		slowed, until, raised := p.state(time.Now())
		if !slowed {
			// At the budget's pace reservations are fair and never outlive
			// a change for long: the slow pace only drops below it.
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
// the channel closed when the pace goes back up.
func (p *pacer) state(now time.Time) (slowed bool, until time.Time, raised <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restoreIfResetLocked(now)
	return p.slowed, p.slowUntil, p.paceRaised
}

// restoreIfResetLocked restores the budget's pace once the announced reset
// has passed: the new window has its whole budget, whether or not an answer
// has said so yet; p.mu held.
func (p *pacer) restoreIfResetLocked(now time.Time) {
	if p.slowed && !now.Before(p.slowUntil) {
		p.restoreLocked()
	}
}

// restoreLocked goes back to the budget's pace and wakes the waiters.
func (p *pacer) restoreLocked() {
	p.slowed = false
	p.setCurrentLocked(p.base)
}

// setCurrentLocked sets the pace in effect and wakes the waiters (a waiter
// sleeping toward a token at a slower pace comes sooner); p.mu held.
func (p *pacer) setCurrentLocked(r rate.Limit) {
	p.current = r
	p.limiter.SetLimit(r)
	p.wakeLocked()
}

func (p *pacer) wakeLocked() {
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

// observe adapts the pace to the headers of an answer to a request that
// went just now (tests; the client hands back the request's ticket).
func (p *pacer) observe(h http.Header, now time.Time) {
	p.done(p.unpacedTicket(), h, now)
}

// done hands back a ticket with its answer's headers (nil when no answer
// came) and adapts the budget, the gate and the pace to them.
func (p *pacer) done(tk ticket, h http.Header, now time.Time) {
	if p.limiter == nil || tk.seq == 0 {
		return
	}
	p.mu.Lock()
	p.unanswered--
	if h == nil {
		p.mu.Unlock()
		return
	}
	before := p.current
	if !p.heard {
		p.heard = true
		p.wakeLocked() // the probe has its answer
	}
	limit, errL := strconv.Atoi(h.Get("x-ratelimit-limit"))
	remaining, errR := strconv.Atoi(h.Get("x-ratelimit-remaining"))
	if errL == nil && errR == nil && limit > 0 && remaining >= 0 {
		p.learnLocked(tk, h, limit, remaining, now)
	}
	after, onPace := p.current, p.onPace
	p.mu.Unlock()
	if onPace != nil && after != before {
		onPace(float64(after))
	}
}

// learnLocked takes in one answer's budget; p.mu held.
func (p *pacer) learnLocked(tk ticket, h http.Header, limit, remaining int, now time.Time) {
	untilReset, resetKnown := resetIn(h.Get("x-ratelimit-reset"), now)
	if secs, err := strconv.ParseFloat(h.Get("x-ratelimit-period"), 64); err == nil && secs > 0 && !math.IsInf(secs, 0) {
		p.period = seconds(secs)
		if base := min(p.ceiling, rate.Limit(float64(limit)/secs)); base != p.base {
			p.base = base
			if !p.slowed || base < p.current {
				p.setCurrentLocked(base)
			}
		}
	}
	// The answer's view of the window, unless it is older than the one
	// held: answers to requests sent at once come back in any order, and
	// within a window what is left only goes down, so more left in an
	// answer to a request sent before the held view's answer came is stale
	// (from a request sent later, it says the window reset); an answer to a request
	// sent before the window was taken as reset speaks of the old window
	// (its ticket was counted as pending in the new one).
	running := p.budget && !p.windowEnd.IsZero() && now.Before(p.windowEnd)
	stale := (running && remaining > p.remaining && tk.seq <= p.knownSent) || (p.budget && tk.seq <= p.resetSeq)
	p.budget, p.limit = true, limit
	if !stale {
		sameWindow := running
		end := time.Time{}
		if resetKnown && untilReset > 0 {
			end = now.Add(untilReset)
		}
		if remaining == limit-1 && !tk.sentAt.IsZero() && p.period > 0 {
			// This request opened the window: it ends a period after it went.
			p.firstAt = tk.sentAt
		} else if !sameWindow {
			p.firstAt = time.Time{}
		}
		if !p.firstAt.IsZero() {
			if byFirst := p.firstAt.Add(p.period + windowEndMargin(p.period)); end.IsZero() || byFirst.Before(end) {
				end = byFirst
			}
		}
		if sameWindow && !end.IsZero() && p.windowEnd.Before(end) {
			end = p.windowEnd
		}
		if end.IsZero() {
			// No reset said or inferred: a window is at most a period
			// (a second when Port states none); a gate that never opens
			// would stop every request for good.
			end = p.windowEnd
			if end.IsZero() || !sameWindow {
				end = now.Add(cmp.Or(p.period, time.Second))
			}
		}
		p.remaining, p.knownPending, p.knownSent, p.windowEnd = remaining, p.unanswered, p.sent, end
		p.wakeLocked()
	}
	p.spreadLocked(limit, remaining, untilReset, resetKnown, now)
}

// spreadLocked slows down when a long window is nearly spent; p.mu held.
func (p *pacer) spreadLocked(limit, remaining int, untilReset time.Duration, resetKnown bool, now time.Time) {
	if float64(remaining) > lowRemainingShare*float64(limit) || !resetKnown || untilReset < minSpreadWindow {
		if p.slowed {
			p.restoreLocked()
		}
		return
	}
	next := min(rate.Limit(float64(max(remaining, 1))/untilReset.Seconds()), p.base)
	p.slowed = true
	p.slowUntil = now.Add(untilReset)
	if next != p.current {
		p.setCurrentLocked(next)
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
