package jq

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMemoryLimit bounds what one evaluation may allocate. A mapping
// expression touches one resource document of a few kilobytes and allocates
// kilobytes; 40 MiB leaves room for any honest expression while keeping a
// runaway one (or several at once) well inside a 256 MB Lambda. The bound is
// on bytes allocated, not on bytes live: garbage an evaluation makes counts
// too, because the heap grows with it until the next collection.
const DefaultMemoryLimit = 40 << 20

// ErrMemory is returned (wrapped) when an evaluation would allocate more than
// its memory limit: either a guarded builtin refused to build a value that
// large, or the watchdog saw the process allocate more than the limit while
// the evaluation ran.
var ErrMemory = errors.New("used too much memory")

// sampleEvery is how often the watchdog looks at running evaluations. An
// evaluation is measured from its second sample on, so what it allocates in
// its first one or two intervals (bounded by the machine's memory bandwidth;
// measured: a few MB) is the slack on top of the limit.
const sampleEvery = time.Millisecond

// evaluation is the budget of one Run or First: its deadline, its memory
// limit, and what it has spent. Guards (see guards.go) run on the evaluating
// goroutine and charge what they are about to allocate; the watchdog runs on
// its own goroutine and measures what the process allocates while the
// evaluation runs, which covers the allocations no guard sees (collecting
// [range(1e9)], reduce, object construction, gojq's own builtins written in
// jq). Either one stops the evaluation through its context: evaluation is the
// context gojq runs with, and gojq asks it (Done) before every VM instruction
// whether to stop; the runaway tests fail should a gojq release stop asking.
// Being the context itself (rather than a context.WithCancelCause beside it)
// saves the allocations and the parent registration that the
// microsecond-long evaluations of a mapping would otherwise pay.
type evaluation struct {
	context.Context // the caller's

	// state holds stateHalted once the evaluation is stopped (Done then
	// returns a closed channel and Err the reason) and stateProgressed once
	// it executed an instruction since the watchdog's last sample.
	state atomic.Int32

	// input is what gojq runs on: the caller's input and the evaluation
	// itself, for the guards (see guardQuery).
	input [2]any

	deadline time.Time
	timeout  time.Duration
	limit    int64

	// charged is what guards charged; only the evaluating goroutine uses it.
	charged int64

	// observed is what the process allocated, since the watchdog started
	// measuring this evaluation (at most two samples after it began), in
	// the intervals the evaluation progressed in; the watchdog writes it,
	// guards read it.
	observed atomic.Int64

	mu      sync.Mutex
	stopped error // why the watchdog or a guard stopped it, nil while running

	// Watchdog bookkeeping, under watchdog.mu.
	slot      int    // index in watchdog.running
	sightings int    // samples taken while it ran
	last      uint64 // process allocation counter at the previous sample
	measured  int64  // what the process allocated in the intervals charged to it
}

// spent is the larger of what guards charged and what the watchdog observed:
// the two overlap (a guarded allocation is also observed), so adding them
// would count it twice.
func (e *evaluation) spent() int64 {
	return max(e.charged, e.observed.Load())
}

// charge records that a guard is about to allocate n bytes, or refuses with
// an error (and stops the evaluation, so that try cannot turn the refusal
// into a loop of further attempts) when that would exceed the limit.
func (e *evaluation) charge(what string, n int64) error {
	if n <= 0 {
		return nil
	}
	if spent := e.spent(); n > e.limit-spent {
		err := &memoryError{what: what, need: n, spent: spent, limit: e.limit}
		e.stop(err)
		return err
	}
	e.charged += n
	return nil
}

// fits reports, without charging, whether n more bytes fit the budget; for
// checks whose estimate is a worst case rather than what will be allocated.
func (e *evaluation) fits(what string, n int64) error {
	if spent := e.spent(); n > e.limit-spent {
		err := &memoryError{what: what, need: n, spent: spent, limit: e.limit}
		e.stop(err)
		return err
	}
	return nil
}

func (e *evaluation) stop(cause error) {
	e.mu.Lock()
	if e.stopped == nil {
		e.stopped = cause
	}
	e.mu.Unlock()
	e.state.Or(stateHalted)
}

const (
	stateHalted int32 = 1 << iota
	stateProgressed
)

// closedChannel is the Done channel of a stopped evaluation.
var closedChannel = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Done is closed when the caller cancels or the evaluation is stopped.
// gojq calls it before each instruction, which also tells the watchdog that
// the evaluation is making progress (one atomic load per instruction; the
// store happens once per sample interval).
func (e *evaluation) Done() <-chan struct{} {
	s := e.state.Load()
	if s&stateHalted != 0 {
		return closedChannel
	}
	if s&stateProgressed == 0 {
		e.state.Or(stateProgressed)
	}
	return e.Context.Done()
}

// Err is why the evaluation stopped: the caller's context error, or a
// *memoryError or ErrTimeout from the watchdog or a guard.
func (e *evaluation) Err() error {
	if e.state.Load()&stateHalted != 0 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.stopped
	}
	return e.Context.Err()
}

// memoryError says what would have taken the evaluation past its limit.
type memoryError struct {
	what  string
	need  int64
	spent int64
	limit int64
}

func (e *memoryError) Error() string {
	if e.need == 0 {
		return fmt.Sprintf("%v: allocated %s while running, over the %s limit", ErrMemory, formatBytes(e.spent), formatBytes(e.limit))
	}
	return fmt.Sprintf("%v: %s needs %s with %s already spent, over the %s limit",
		ErrMemory, e.what, formatBytes(e.need), formatBytes(e.spent), formatBytes(e.limit))
}

func (e *memoryError) Unwrap() error { return ErrMemory }

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// watchdog samples the process's cumulative allocation counter while
// evaluations run and stops those past their deadline or memory limit. Go
// cannot attribute allocations to a goroutine, so an evaluation is charged
// with everything the process allocated since the watchdog first saw it;
// evaluations finish in microseconds, so only one that keeps running across
// samples while memory grows is ever stopped. One goroutine serves the whole
// process and sleeps while no evaluation runs.
type watchdog struct {
	mu      sync.Mutex
	running []*evaluation
	wake    chan struct{}
	start   sync.Once
	sample  []metrics.Sample
}

var defaultWatchdog = &watchdog{wake: make(chan struct{}, 1)}

// allocsMetric is the process's cumulative count of bytes allocated on the
// heap; unlike the live heap it does not drop at a collection, so what an
// evaluation allocated is the difference of two readings.
const allocsMetric = "/gc/heap/allocs:bytes"

func (w *watchdog) add(e *evaluation) {
	w.start.Do(func() {
		w.sample = []metrics.Sample{{Name: allocsMetric}}
		go w.loop()
	})
	w.mu.Lock()
	// The clock starts once registered: had the watchdog held the lock for
	// a while (descheduled on a busy machine), the wait must not count
	// against the evaluation.
	e.deadline = time.Now().Add(e.timeout)
	e.slot = len(w.running)
	w.running = append(w.running, e)
	first := len(w.running) == 1
	w.mu.Unlock()
	if first {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watchdog) remove(e *evaluation) {
	w.mu.Lock()
	last := len(w.running) - 1
	moved := w.running[last]
	w.running[e.slot] = moved
	moved.slot = e.slot
	w.running[last] = nil
	w.running = w.running[:last]
	w.mu.Unlock()
}

func (w *watchdog) loop() {
	ticker := time.NewTicker(sampleEvery)
	ticker.Stop()
	for range w.wake {
		ticker.Reset(sampleEvery)
		for w.check() {
			<-ticker.C
		}
		ticker.Stop()
	}
}

// check reads the allocation counter once and stops every evaluation past its
// deadline or limit. It reports whether any evaluation is still running.
func (w *watchdog) check() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.running) == 0 {
		return false
	}
	now := time.Now()
	// Evaluations usually end before the next sample; the counter is read
	// only once one has been seen twice, which spares the common case the
	// read (it spins until every P has finished updating its statistics,
	// which on an overloaded machine can hold the lock for a while).
	// Reading under the lock means no evaluation starts between the reading
	// and its baseline; holding it only delays evaluations starting or
	// ending, whose clocks start in add.
	var allocated uint64
	read := false
	// An interval's allocations are charged to the measured evaluations
	// only if one of them executed instructions in it: while all of them
	// wait (descheduled, or a throttled Lambda), what other goroutines
	// allocate is not theirs. Concurrent runaways thus share one budget.
	anyProgressed := false
	for _, e := range w.running {
		e.sightings++
		progressed := e.state.And(^stateProgressed)&stateProgressed != 0
		if e.sightings > 2 && progressed {
			anyProgressed = true
		}
		if e.sightings >= 2 && !read {
			metrics.Read(w.sample)
			allocated, read = w.sample[0].Value.Uint64(), true
		}
	}
	for _, e := range w.running {
		if e.sightings > 2 && anyProgressed {
			e.measured += int64(allocated - e.last)
			e.observed.Store(e.measured)
		}
		e.last = allocated
		e.mu.Lock()
		stopped := e.stopped != nil
		e.mu.Unlock()
		switch {
		case stopped:
		case now.After(e.deadline):
			e.stop(fmt.Errorf("%w: stopped after %s", ErrTimeout, e.timeout))
		case e.measured > e.limit:
			e.stop(&memoryError{spent: e.measured, limit: e.limit})
		}
	}
	return true
}
