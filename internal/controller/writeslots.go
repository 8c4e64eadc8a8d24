package controller

import "sync"

// MaxWriteSlots bounds the upserts in flight however fast the target says
// it is: each slot holds one bulk (BulkSize entities) in memory.
const MaxWriteSlots = 256

// writeSlots bound the upsert requests in flight across all shards: the
// floor (Settings.WriteConcurrency), or more when the target says it can
// keep more busy (Settings.WriteSlots: for Port, its budget × a request's
// latency), up to MaxWriteSlots. The bound is read at every acquire, so it
// follows the target as its budget is learnt.
type writeSlots struct {
	floor int
	want  func() int // nil: the floor is the bound

	mu    sync.Mutex
	cond  *sync.Cond
	inUse int
}

func newWriteSlots(floor int, want func() int) *writeSlots {
	s := &writeSlots{floor: floor, want: want}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// limit is the current bound.
func (s *writeSlots) limit() int {
	if s.want == nil {
		return s.floor
	}
	return min(max(s.want(), s.floor), max(s.floor, MaxWriteSlots))
}

// acquire waits for a free slot.
func (s *writeSlots) acquire() {
	s.mu.Lock()
	for s.inUse >= s.limit() {
		s.cond.Wait()
	}
	s.inUse++
	s.mu.Unlock()
}

// release frees a slot.
func (s *writeSlots) release() {
	s.mu.Lock()
	s.inUse--
	s.mu.Unlock()
	s.cond.Broadcast() // the bound may have grown by more than one
}
