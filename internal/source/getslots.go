package source

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Sizing of a region's GetResource budget.
const (
	// getHeadroom multiplies rate × latency: calls are not evenly spread and
	// latency varies, so twice the average keeps the bucket, not the slots,
	// the limit.
	getHeadroom = 2
	// assumedGetLatency sizes the budget before the region's first answer.
	assumedGetLatency = 100 * time.Millisecond
	// minGetSlots keeps a region reading when the rate is low and its calls fast.
	minGetSlots = 4
	// latencyWeight is the weight of the newest call in the moving average.
	latencyWeight = 0.1
)

// getSlots bounds the GetResource calls in flight in one region, shared by
// every shard reading there. A region's calls are paced by its token bucket
// at rate R; with calls taking L each, R × L of them are in flight when the
// bucket is the limit. The budget follows that figure (× getHeadroom) as the
// observed latency moves, between minGetSlots and the configured ceiling, so
// neither a fixed number per shard nor the number of shards at once decides
// how fast a region reads.
//
// The slots are a semaphore as large as the ceiling, of which the part above
// the current budget is held back ("parked"): growing releases parked slots,
// shrinking takes them back as calls finish.
type getSlots struct {
	sem     *semaphore.Weighted
	ceiling int64
	rate    float64 // calls per second; +Inf when unpaced

	mu      sync.Mutex
	open    int64         // ceiling minus the parked slots
	latency time.Duration // moving average of successful calls
}

func newGetSlots(ratePerSecond float64, ceiling int) *getSlots {
	s := &getSlots{sem: semaphore.NewWeighted(int64(ceiling)), ceiling: int64(ceiling), rate: ratePerSecond, latency: assumedGetLatency}
	if s.rate < 0 {
		s.rate = math.Inf(1)
	}
	s.open = s.target()
	// A fresh semaphore has all its weight free, so this cannot fail.
	s.sem.TryAcquire(s.ceiling - s.open)
	return s
}

// target is the budget for the current latency estimate; s.mu held or not yet shared.
func (s *getSlots) target() int64 {
	want := s.rate * s.latency.Seconds() * getHeadroom
	if math.IsInf(want, 1) || math.IsNaN(want) || want >= float64(s.ceiling) {
		return s.ceiling
	}
	// Rounded, not ceiled: the headroom already covers the fraction, and a
	// latency a few nanoseconds over a round figure should not add a slot.
	return min(s.ceiling, max(minGetSlots, int64(math.Round(want))))
}

func (s *getSlots) acquire(ctx context.Context) error { return s.sem.Acquire(ctx, 1) }
func (s *getSlots) release()                          { s.sem.Release(1) }

// observe folds the duration of a successful call into the latency estimate
// and resizes the budget to match.
func (s *getSlots) observe(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency += time.Duration(latencyWeight * float64(d-s.latency))
	s.resizeLocked()
}

// setRate follows the region's pace (the adaptive rate as it moves).
func (s *getSlots) setRate(perSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond < 0 {
		perSecond = math.Inf(1)
	}
	s.rate = perSecond
	s.resizeLocked()
}

// resizeLocked opens or parks slots to match target; s.mu held.
func (s *getSlots) resizeLocked() {
	want := s.target()
	switch {
	case want > s.open:
		s.sem.Release(want - s.open)
		s.open = want
	case want < s.open:
		// Only slots nobody holds can be parked; the rest follow on a later call.
		if s.sem.TryAcquire(s.open - want) {
			s.open = want
		}
	}
}

// size is the current budget, for tests and logs.
func (s *getSlots) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.open)
}
