package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// ResourceReconciler brings one resource's entities in line with AWS (*Reconciler).
type ResourceReconciler interface {
	Reconcile(ctx context.Context, d Decision) (*Report, error)
}

// ShardSyncer runs the full sync of one shard (the controller, adapted).
// A returned error is transient unless it matches ErrPermanent.
type ShardSyncer interface {
	SyncShard(ctx context.Context, shard ShardRequest) (ShardSummary, error)
}

// DefaultConcurrency bounds how many resources of one batch are reconciled at
// once. It covers a whole SQS receive (10 messages), so that a batch's
// upserts share bulk requests and the batch costs about one GetResource plus
// one Port request of latency; 16 in flight is what keeps Port's 117
// requests/s busy at 50 ms per GetResource and 80 ms per Port request when a
// Lambda batch is larger than 10. Both APIs' clients pace their own requests,
// so a higher bound costs queueing, not rate-limit errors.
const DefaultConcurrency = 16

// Handler handles batches of queue messages.
type Handler struct {
	Reconciler ResourceReconciler
	// Shards syncs shard messages; when nil they fail permanently.
	Shards      ShardSyncer
	Concurrency int
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// work is one unit of a batch: a resource or a shard, with the messages about it.
type work struct {
	key      string
	decision *Decision
	shard    *ShardRequest
	// items are the indexes of the batch's messages about this unit; the last
	// one is handled, the others share its outcome.
	items []int
}

// HandleBatch handles items and returns one outcome per item, in order.
// Messages about the same resource (Decision.Key: resource type, region,
// Cloud Control identifier) or the same shard are handled once, as the latest
// of them, and share its outcome: reconciling reads the resource's current
// state, so one pass covers them all.
// When ctx ends, work not yet started is reported as StatusRetry.
func (h *Handler) HandleBatch(ctx context.Context, items []Item) []Outcome {
	out := make([]Outcome, len(items))
	var units []*work
	byKey := map[string]*work{}
	for i, it := range items {
		msg, err := ParseMessage(it.Body)
		var unit work
		switch {
		case err != nil:
			out[i] = outcomeOf(it.ID, err)
			h.finished(it.ID, "", "", out[i], 0)
			continue
		case msg.Shard != nil:
			unit = work{key: msg.Shard.Key(), shard: msg.Shard}
		default:
			d, err := Evaluate(ctx, msg)
			if err != nil {
				out[i] = outcomeOf(it.ID, err)
				h.finished(it.ID, msg.ResourceType, "", out[i], 0)
				continue
			}
			unit = work{key: d.Key(), decision: &d}
		}
		if w, ok := byKey[unit.key]; ok {
			// The later message wins: its decision (upsert or delete) is the newer intent.
			if unit.decision != nil && w.decision != nil {
				inheritEntityIdentifier(unit.decision, *w.decision)
			}
			w.decision, w.shard = unit.decision, unit.shard
			w.items = append(w.items, i)
			continue
		}
		unit.items = []int{i}
		byKey[unit.key] = &unit
		units = append(units, &unit)
	}

	reconciler, bulk := h.batchReconciler()
	concurrency := h.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	chains := chainBySharedIdentifier(units)
	next := make(chan []*work, len(chains))
	for _, chain := range chains {
		next <- chain
	}
	close(next)
	// A fixed pool of workers, each registered with bulk from the start until
	// it runs out of chains: a shared upsert waits for every worker, so no
	// upsert is sent before a worker that has yet to take its first chain, or
	// that is between two chains, reaches its own.
	workers := min(concurrency, len(chains))
	if bulk != nil {
		bulk.start(workers)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			if bulk != nil {
				defer bulk.finish()
			}
			for chain := range next {
				if bulk != nil && chain[0].shard != nil {
					// A shard sync writes through the syncer, never through
					// bulk: waiting for it would hold the batch's upserts for
					// a whole shard.
					bulk.finish()
					h.handleChain(ctx, reconciler, items, out, chain)
					bulk.start(1)
					continue
				}
				h.handleChain(ctx, reconciler, items, out, chain)
			}
		})
	}
	wg.Wait()
	return out
}

// handleChain handles a chain's units in order; each unit's outcome is also
// that of the messages it stands for.
func (h *Handler) handleChain(ctx context.Context, reconciler ResourceReconciler, items []Item, out []Outcome, chain []*work) {
	for _, w := range chain {
		handled := w.items[len(w.items)-1]
		o := h.handleUnit(ctx, reconciler, items[handled].ID, w)
		for _, i := range w.items {
			shared := o
			shared.ID = items[i].ID
			if i != handled {
				shared.DuplicateOf = items[handled].ID
			}
			out[i] = shared
		}
	}
}

// inheritEntityIdentifier lets a winning upsert without entity_identifier
// delete the right entity when it finds the resource gone: an earlier message
// about the same resource that named the entity (a delete's identifier, or
// entity_identifier) says which one it is.
func inheritEntityIdentifier(winner *Decision, earlier Decision) {
	if winner.Action != ActionUpsert || winner.EntityIdentifier != "" {
		return
	}
	switch {
	case earlier.EntityIdentifier != "":
		winner.EntityIdentifier = earlier.EntityIdentifier
	case earlier.Action == ActionDelete && earlier.ResourceIdentifier != "":
		// Only a delete that also names the resource is known to be about it by
		// entity; without resource_identifier its key was the identifier itself.
		winner.EntityIdentifier = earlier.Identifier
	}
}

// chainBySharedIdentifier groups the units that must not run at the same
// time, in batch order. Resources of one type with the same identifier in
// different regions (a function named api in two regions) map to the same
// entity: while one upserts it, the other, finding its resource gone, checks
// who owns the entity and deletes it. Run side by side, the check can miss
// the write that is landing and delete a live entity; one after another, it
// sees it. Every other unit is a chain of its own.
func chainBySharedIdentifier(units []*work) [][]*work {
	var chains [][]*work
	index := map[string]int{}
	for _, w := range units {
		key := w.key
		if w.decision != nil {
			key = w.decision.ResourceType + "\x00" + w.decision.DeleteIdentifier()
		}
		if i, ok := index[key]; ok {
			chains[i] = append(chains[i], w)
			continue
		}
		index[key] = len(chains)
		chains = append(chains, []*work{w})
	}
	return chains
}

// batchReconciler returns the reconciler for one batch: when h.Reconciler is
// a *Reconciler that writes, a copy whose upserts share bulk requests through
// the returned bulkUpserter; otherwise h.Reconciler itself and nil.
func (h *Handler) batchReconciler() (ResourceReconciler, *bulkUpserter) {
	rec, ok := h.Reconciler.(*Reconciler)
	if !ok || rec == nil || rec.Target == nil || rec.DryRun {
		return h.Reconciler, nil
	}
	bulk := newBulkUpserter(rec.Target)
	shared := *rec
	shared.Target = bulk
	return &shared, bulk
}

func (h *Handler) handleUnit(ctx context.Context, reconciler ResourceReconciler, id string, w *work) Outcome {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		// Too late to start: the message goes back to the queue untouched.
		return Outcome{ID: id, Status: StatusRetry, Err: fmt.Errorf("not started: %w", context.Cause(ctx))}
	}
	if w.shard != nil {
		o := h.syncShard(ctx, id, *w.shard)
		h.finished(id, w.shard.Kind, "sync_shard", o, time.Since(start))
		return o
	}
	report, err := reconciler.Reconcile(ctx, *w.decision)
	o := outcomeOf(id, err)
	o.Report = report
	h.finished(id, w.decision.ResourceType, string(w.decision.Action), o, time.Since(start))
	for range len(w.items) - 1 {
		h.Metrics.Event(w.decision.ResourceType, string(w.decision.Action), metrics.OutcomeDuplicate, 0)
	}
	return o
}

func (h *Handler) syncShard(ctx context.Context, id string, shard ShardRequest) Outcome {
	report := &Report{Shard: &shard}
	if h.Shards == nil {
		return Outcome{ID: id, Status: StatusDeadLetter, Reason: ReasonBadShardMessage,
			Err: fmt.Errorf("shard %s: this runtime does not sync shards", shard), Report: report}
	}
	summary, err := h.Shards.SyncShard(ctx, shard)
	report.ShardSummary = &summary
	o := outcomeOf(id, err)
	o.Report = report
	return o
}

// finished logs and counts one handled unit.
func (h *Handler) finished(id, resourceType, action string, o Outcome, took time.Duration) {
	h.Metrics.Event(resourceType, action, o.Status.String(), took)
	log := h.logger().With("message_id", id, "outcome", o.Status.String())
	if o.Report != nil && o.Report.Decision != nil {
		d := o.Report.Decision
		log = log.With("resource_type", d.ResourceType, "region", d.Region, "action", string(d.Action), "identifier", d.Identifier)
		if d.ResourceIdentifier != "" {
			log = log.With("resource_identifier", d.ResourceIdentifier)
		}
		if d.EntityIdentifier != "" {
			log = log.With("entity_identifier", d.EntityIdentifier)
		}
	}
	switch o.Status {
	case StatusOK:
		log.Info("message handled", "took", took)
	case StatusRetry:
		log.Warn("message failed transiently", "error", o.Err)
	case StatusDeadLetter:
		log.Error("message failed permanently", "reason", o.Reason, "error", o.Err)
	}
}
