package dispatch

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Convergence. A reconcile reads AWS, then writes to Port; when two
// reconciles of one resource overlap, the one that read first may write last,
// and the catalog keeps a state AWS has left (a create, a delete and a
// re-create of one function, 50 ms apart, on several pollers). Two mechanisms
// make the final state equal AWS's whatever the interleaving:
//
//   - inside a process, reconciles of the same resource never overlap: each
//     unit holds a lock per resource and entity its scope names (resourceLocks),
//     across every batch and poller of the process;
//   - across processes (replicas, Lambda invocations), every reconcile that
//     wrote schedules a verification: the same message again, VerifyDelay
//     later, marked so that it schedules no further one. A stale write lands
//     at most UnitTimeout after the read it came from; the verification of the
//     last correct write reads after VerifyDelay > UnitTimeout, so after every
//     stale write, and writes what AWS says then. Verifications of one
//     resource are coalesced in a process.
//
// Cost: one SQS SendMessage and one more GetResource (and Port upsert) per
// message that wrote, VerifyDelay after it.

// Verifier sends a message again after a delay, marked as a verification
// (VerificationAttribute), for the reconcile to run once more.
type Verifier interface {
	Verify(ctx context.Context, body []byte, delay time.Duration) error
}

// VerificationAttribute marks a verification message: it reconciles like any
// message but schedules no verification of its own. A sender who sets it can
// only suppress a verification, never cause a write.
const VerificationAttribute = "port-aws-exporter-verification"

// resourceLocks serializes the reconciles of one resource in a process.
type resourceLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

func newResourceLocks() *resourceLocks { return &resourceLocks{held: map[string]chan struct{}{}} }

// lock takes every key, in sorted order (so two units never wait on each
// other), and returns the release; it gives up when ctx ends. beforeWait is
// called once, before the first wait for a key another unit holds.
func (l *resourceLocks) lock(ctx context.Context, keys []string, beforeWait func()) (func(), error) {
	waited := false
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	var taken []string
	release := func() {
		l.mu.Lock()
		for _, k := range taken {
			close(l.held[k])
			delete(l.held, k)
		}
		l.mu.Unlock()
	}
	for i, k := range keys {
		if i > 0 && keys[i-1] == k {
			continue
		}
		for {
			l.mu.Lock()
			wait, busy := l.held[k]
			if !busy {
				l.held[k] = make(chan struct{})
				taken = append(taken, k)
				l.mu.Unlock()
				break
			}
			l.mu.Unlock()
			if !waited {
				waited = true
				beforeWait()
			}
			select {
			case <-wait:
			case <-ctx.Done():
				release()
				return nil, context.Cause(ctx)
			}
		}
	}
	return release, nil
}

// verifications coalesces the verifications scheduled by a process.
type verifications struct {
	mu  sync.Mutex
	due map[string]time.Time
	// nextSweep is when entries past due are next swept out: at most once
	// a delay, so the sweep costs no more than the claims it follows.
	nextSweep time.Time
}

// claim reports whether a verification of key is to be sent now: not when
// one is already due later than half a delay from now (the write just made
// ends before it reads).
func (v *verifications) claim(key string, delay time.Duration) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if now.After(v.nextSweep) {
		for k, at := range v.due {
			if at.Before(now) {
				delete(v.due, k)
			}
		}
		v.nextSweep = now.Add(delay)
	}
	if at, ok := v.due[key]; ok && at.Sub(now) >= delay/2 {
		return false
	}
	v.due[key] = now.Add(delay)
	return true
}
