package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Deletion proofs. An event may delete entity E of shard S only when AWS has
// shown that no resource of S maps to E now. There are two ways to show it:
//
//   - direct: every mapping that could produce E names entities by the Cloud
//     Control identifier, or by an ARN of S's region and account that embeds
//     it (internal/identity). Then exactly one resource could map to E, and a
//     definite not-found for it, or its document mapping to something else,
//     is the proof. One GetResource.
//   - listing: otherwise, a complete listing of S, mapped through the config,
//     that does not produce E. A listing is shared by the messages of a batch
//     and reused for ProofListingTTL, but only by messages that arrived before
//     it started, so it never predates what a message reports.
//
// Only a definite answer counts: AccessDenied, throttling, a timeout or any
// other error is a problem of the scope, and the plan then deletes nothing.

// proofListings shares the listings made to prove deletions.
type proofListings struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]*proofListing
}

type proofListing struct {
	started time.Time
	done    chan struct{}
	refs    map[entity.Ref]bool
	err     error
	// next is the listing that starts when this one ends, shared by every
	// message that arrived while this one was running (too late to use it).
	next *proofListing
}

func newProofListings(ttl time.Duration) *proofListings {
	return &proofListings{ttl: ttl, entries: map[string]*proofListing{}}
}

// listing returns the entities a listing of shard maps to: one that started
// at or after notBefore and is younger than the TTL (or still running), or a
// new one. At most one listing per shard runs at a time: messages that
// arrive while one runs share the single listing queued after it, so a flood
// of deletion messages costs one listing after another, never one each.
func (p *proofListings) listing(ctx context.Context, c *Controller, shard source.Shard, applicable []*mapping.Resource, notBefore time.Time) (map[entity.Ref]bool, error) {
	key := shard.String()
	p.mu.Lock()
	l, ok := p.entries[key]
	switch {
	case ok && !l.started.Before(notBefore) && (p.running(l) || time.Since(l.started) <= p.ttl):
		// fresh enough: share it
	case ok && p.running(l):
		if l.next == nil {
			next := &proofListing{done: make(chan struct{})}
			l.next = next
			go func(prev *proofListing) {
				<-prev.done
				p.mu.Lock()
				next.started = time.Now()
				p.entries[key] = next
				p.mu.Unlock()
				p.run(context.WithoutCancel(ctx), c, shard, applicable, next)
			}(l)
		}
		l = l.next
	default:
		l = &proofListing{started: time.Now(), done: make(chan struct{})}
		p.entries[key] = l
		go p.run(context.WithoutCancel(ctx), c, shard, applicable, l)
	}
	p.mu.Unlock()
	select {
	case <-l.done:
		return l.refs, l.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *proofListings) running(l *proofListing) bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// run lists the shard once. It is not cancelled by the message that started
// it, since other messages wait for it too; the source's own deadlines bound it.
func (p *proofListings) run(ctx context.Context, c *Controller, shard source.Shard, applicable []*mapping.Resource, l *proofListing) {
	defer close(l.done)
	// A listing for a proof must not outlive its use by much.
	ctx, cancel := context.WithTimeout(ctx, proofListingTimeout)
	defer cancel()
	listShard := shard
	if full, ok := c.Shard(shard.AccountID, shard.Region, shard.Kind); ok {
		listShard = full // the config's resource models
	}
	refs := map[entity.Ref]bool{}
	err := c.parts.Source.List(ctx, listShard, listOptions(applicable), func(res source.Resource) error {
		produced, problems, _ := mapResource(ctx, applicable, res)
		if len(problems) > 0 {
			return fmt.Errorf("map %s %q: %w", res.Kind, res.Identifier, problems[0])
		}
		for _, e := range produced {
			refs[e.Ref()] = true
		}
		return nil
	})
	if err != nil {
		l.err = err
		return
	}
	l.refs = refs
}

// proofListingTimeout bounds one proof listing; a shard too big to list in
// this time is left to the full sync.
const proofListingTimeout = 5 * time.Minute
