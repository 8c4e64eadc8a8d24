package portapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit configures the double's limiter. Port limits per organization in
// fixed windows and reports the window in x-ratelimit-* headers.
type RateLimit struct {
	// Limit is the number of requests allowed per Period; 0 means Port's last
	// published 35,000 (entity requests per 5 minutes); negative means none.
	Limit int
	// Period is the window; 0 means 5 minutes.
	Period time.Duration
	// EveryNth answers 429 to every n-th request whatever the window says
	// (n ≥ 2), to test clients under a steady share of rejections.
	EveryNth int
	// RetryAfter is the Retry-After (whole seconds) sent with an EveryNth
	// rejection; window rejections advertise the time until the window resets.
	RetryAfter time.Duration
	// OmitRetryAfter leaves Retry-After out so a client has to use x-ratelimit-reset.
	OmitRetryAfter bool
	// ResetAsEpoch sends x-ratelimit-reset as a Unix time instead of seconds
	// from now; clients in the wild see both.
	ResetAsEpoch bool
}

type limiter struct {
	cfg RateLimit

	mu          sync.Mutex
	windowStart time.Time
	used        int
	seen        int
}

func newLimiter(cfg RateLimit) *limiter {
	if cfg.Limit == 0 {
		cfg.Limit = 35000
	}
	if cfg.Period <= 0 {
		cfg.Period = 5 * time.Minute
	}
	return &limiter{cfg: cfg}
}

type rejection struct{ retryAfter int }

// take counts one request, writes the x-ratelimit-* headers and returns a
// rejection when the request is over the limit.
func (l *limiter) take(now time.Time, h http.Header) *rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	l.seen++
	over := l.cfg.Limit > 0 && l.used >= l.cfg.Limit
	if l.cfg.Limit > 0 && !over {
		l.used++
	}
	untilReset := l.writeHeaders(now, h)
	if over {
		return l.reject(untilReset)
	}
	if l.cfg.EveryNth >= 2 && l.seen%l.cfg.EveryNth == 0 {
		return l.reject(int(ceilSeconds(l.cfg.RetryAfter)))
	}
	return nil
}

// headers writes the x-ratelimit-* headers without counting a request.
func (l *limiter) headers(now time.Time, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	l.writeHeaders(now, h)
}

// roll starts a new window when the current one is over.
func (l *limiter) roll(now time.Time) {
	if l.windowStart.IsZero() || now.Sub(l.windowStart) >= l.cfg.Period {
		l.windowStart = now
		l.used = 0
	}
}

// writeHeaders writes the window's state and returns the seconds until it resets.
func (l *limiter) writeHeaders(now time.Time, h http.Header) int {
	reset := l.windowStart.Add(l.cfg.Period)
	untilReset := int(ceilSeconds(reset.Sub(now)))
	if l.cfg.Limit <= 0 {
		return untilReset
	}
	h.Set("x-ratelimit-limit", strconv.Itoa(l.cfg.Limit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(l.cfg.Limit-l.used))
	h.Set("x-ratelimit-period", strconv.Itoa(int(ceilSeconds(l.cfg.Period))))
	if l.cfg.ResetAsEpoch {
		h.Set("x-ratelimit-reset", strconv.FormatInt(reset.Unix(), 10))
	} else {
		h.Set("x-ratelimit-reset", strconv.Itoa(untilReset))
	}
	return untilReset
}

func (l *limiter) reject(retryAfter int) *rejection {
	if l.cfg.OmitRetryAfter {
		return &rejection{retryAfter: -1}
	}
	return &rejection{retryAfter: retryAfter}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// Fault makes the double answer with Status instead of doing the work: for
// the next Requests requests, or for the time window For from now ("Port is
// down for two minutes"), on Route only when set.
type Fault struct {
	Status   int
	Requests int
	For      time.Duration
	Route    string
}

type activeFault struct {
	Fault
	until time.Time
	left  int
}

// Fail injects a fault; faults are checked in the order they were injected.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	af := &activeFault{Fault: f, left: f.Requests}
	if f.For > 0 {
		af.until = s.opts.Now().Add(f.For)
	}
	s.faults = append(s.faults, af)
}

// takeFault returns the status of the first live fault for route and uses it up.
func (s *Server) takeFault(route string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	live := s.faults[:0]
	status, hit := 0, false
	for _, f := range s.faults {
		expired := (f.For > 0 && !now.Before(f.until)) || (f.For <= 0 && f.left <= 0)
		if expired {
			continue
		}
		if !hit && (f.Route == "" || f.Route == route) {
			status, hit = f.Status, true
			if f.For <= 0 {
				f.left--
			}
		}
		live = append(live, f)
	}
	s.faults = live
	return status, hit
}

func faultCode(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case status >= 500:
		return "internal_error"
	default:
		return http.StatusText(status)
	}
}
