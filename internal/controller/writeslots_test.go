package controller

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The write bound is the floor until the target says more, follows it up
// and down, and never passes MaxWriteSlots.
func TestWriteSlotsFollowTheTarget(t *testing.T) {
	var want atomic.Int64
	s := newWriteSlots(16, func() int { return int(want.Load()) })
	cases := []struct {
		want, limit int
	}{
		{0, 16}, {8, 16}, {100, 100}, {10_000, MaxWriteSlots}, {40, 40},
	}
	if len(cases) < 5 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		want.Store(int64(c.want))
		if got := s.limit(); got != c.limit {
			t.Errorf("want %d: limit %d, expected %d", c.want, got, c.limit)
		}
	}
	if got := newWriteSlots(4, nil).limit(); got != 4 {
		t.Errorf("without a target's word the limit is %d, want the floor 4", got)
	}
}

// Holders never exceed the bound, and a raised bound wakes every waiter it
// admits (not one per release).
func TestWriteSlotsBoundHoldersAndWakeOnRaise(t *testing.T) {
	var want atomic.Int64
	want.Store(2)
	s := newWriteSlots(2, func() int { return int(want.Load()) })
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.acquire()
			n := held.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-gate
			held.Add(-1)
			s.release()
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak holders %d with a bound of 2", p)
	}
	want.Store(6)
	// One release is enough to wake all the waiters the new bound admits.
	gate <- struct{}{}
	deadline := time.Now().Add(2 * time.Second)
	for held.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if h := held.Load(); h != 6 {
		t.Fatalf("after raising the bound to 6, %d hold a slot", h)
	}
	close(gate)
	wg.Wait()
	if p := peak.Load(); p > 6 {
		t.Fatalf("peak holders %d with a bound of at most 6", p)
	}
}
