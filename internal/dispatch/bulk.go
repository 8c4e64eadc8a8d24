package dispatch

import (
	"context"
	"errors"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// errNoWriteResult fails an entity the target returned no result for: the
// write may or may not have landed, and upserts are idempotent, so the
// message is retried (classifyWrites counts it as transient).
var errNoWriteResult = errors.New("the target returned no result for this entity")

// bulkUpserter lets the units of one batch share Port requests. Each unit
// still calls Upsert with its own entities and gets back exactly their
// results; meanwhile the call waits until every worker of the batch has
// either run out of units or reached an upsert, and then all waiting upserts
// are sent together, one target call per owner (the target groups them by
// blueprint into bulk requests of up to 20). One event then costs a share of
// a Port request instead of a whole one, which is what lets a queue use
// Port's request budget.
//
// Waiting for the workers (as many as the concurrency limit allows) keeps it
// live: a worker is either working, which ends in an upsert or in running out
// of units, or waiting, which ends when every worker waits. Deletes and
// searches pass straight through: deletes stay per message.
type bulkUpserter struct {
	next controller.Target

	mu sync.Mutex
	// running counts the workers registered and not finished, less those
	// whose upsert is being written (they cannot reach another upsert before
	// it returns, so the next flush must not wait for them).
	running int
	pending []*upsertRequest
}

// upsertRequest is one unit's Upsert call, answered through done.
type upsertRequest struct {
	ctx     context.Context
	owner   source.Shard
	ents    []entity.Entity
	results []controller.WriteResult
	done    chan struct{}
}

func newBulkUpserter(next controller.Target) *bulkUpserter {
	return &bulkUpserter{next: next}
}

// start registers n workers that will run units until they call finish.
func (b *bulkUpserter) start(n int) {
	b.mu.Lock()
	b.running += n
	b.mu.Unlock()
}

// finish deregisters a worker; the upserts waiting for it may now be due.
func (b *bulkUpserter) finish() {
	b.mu.Lock()
	b.running--
	due := b.takeDueLocked()
	b.mu.Unlock()
	if due != nil {
		// In its own goroutine so that the finished unit's slot is freed for
		// the next unit, whose Cloud Control read overlaps this write.
		go b.write(due)
	}
}

// Upsert queues ents with the batch's other upserts and returns their results
// (one per entity, as the target reports them) once the shared write is done.
func (b *bulkUpserter) Upsert(ctx context.Context, owner source.Shard, ents []entity.Entity) []controller.WriteResult {
	if len(ents) == 0 {
		return nil
	}
	req := &upsertRequest{ctx: ctx, owner: owner, ents: ents, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	due := b.takeDueLocked()
	b.mu.Unlock()
	if due != nil {
		b.write(due)
	}
	<-req.done
	b.mu.Lock()
	b.running++ // back to work: a later flush waits for this unit again
	b.mu.Unlock()
	return req.results
}

func (b *bulkUpserter) Owned(ctx context.Context, shard source.Shard, blueprints []string) ([]entity.Ref, error) {
	return b.next.Owned(ctx, shard, blueprints)
}

func (b *bulkUpserter) OwnedAmong(ctx context.Context, shard source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	return b.next.OwnedAmong(ctx, shard, refs)
}

// Delete is not shared: a delete is preceded by ownership searches of its
// own, and the outcome of each message's deletes stays its own request's.
func (b *bulkUpserter) Delete(ctx context.Context, owner source.Shard, refs []entity.Ref) []controller.WriteResult {
	return b.next.Delete(ctx, owner, refs)
}

// takeDueLocked returns the pending upserts when every running unit waits
// on one, and takes their units out of the running count until they return.
func (b *bulkUpserter) takeDueLocked() []*upsertRequest {
	if len(b.pending) == 0 || len(b.pending) < b.running {
		return nil
	}
	due := b.pending
	b.pending = nil
	b.running -= len(due)
	return due
}

// write sends due, one target call per owner (each owner writes with its own
// User-Agent, hence its own requests), the owners side by side.
func (b *bulkUpserter) write(due []*upsertRequest) {
	var owners []source.Shard
	byOwner := map[string][]*upsertRequest{}
	for _, req := range due {
		key := req.owner.String()
		if _, ok := byOwner[key]; !ok {
			owners = append(owners, req.owner)
		}
		byOwner[key] = append(byOwner[key], req)
	}
	var wg sync.WaitGroup
	for _, owner := range owners {
		wg.Go(func() { b.writeOwner(owner, byOwner[owner.String()]) })
	}
	wg.Wait()
}

// writeOwner writes the entities of reqs (all of one owner) in one target
// call and hands each request the results of its own entities.
func (b *bulkUpserter) writeOwner(owner source.Shard, reqs []*upsertRequest) {
	defer func() {
		for _, req := range reqs {
			close(req.done)
		}
	}()
	if len(reqs) == 1 {
		reqs[0].results = b.next.Upsert(reqs[0].ctx, owner, reqs[0].ents)
		return
	}
	// A result names its entity by reference, and a target may reorder
	// (target.Port groups by blueprint), so results are matched by reference;
	// the same entity sent twice (two resources mapping to one entity) gets
	// its results in the order it was sent, which grouping keeps.
	type slot struct{ req, index int }
	waiting := map[entity.Ref][]slot{}
	var all []entity.Entity
	for r, req := range reqs {
		req.results = make([]controller.WriteResult, len(req.ents))
		for i, e := range req.ents {
			ref := e.Ref()
			req.results[i] = controller.WriteResult{Ref: ref, Err: errNoWriteResult}
			waiting[ref] = append(waiting[ref], slot{r, i})
			all = append(all, e)
		}
	}
	// The requests of one batch share its context; the first one's stands
	// for all (they end together).
	for _, res := range b.next.Upsert(reqs[0].ctx, owner, all) {
		slots := waiting[res.Ref]
		if len(slots) == 0 {
			continue
		}
		waiting[res.Ref] = slots[1:]
		reqs[slots[0].req].results[slots[0].index] = res
	}
}
