// Package dispatch takes batches of queue messages to the one reconcile path:
// each message is parsed and evaluated (internal/events), becomes a scope
// (internal/controller), and its outcome says what the queue does with it
// (delete, redeliver, dead-letter). It is the one place that dedupes,
// bounds concurrency and shares bulk upserts, for `serve` and the Lambda alike.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

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
	controller *controller.Controller
	// shardKey verifies shard messages; nil refuses them (forged_shard_message).
	shardKey    *events.ShardKey
	concurrency int
	metrics     *metrics.Metrics
	log         *slog.Logger
	// dryRun marks reports: the controller's target records instead of writing.
	dryRun bool

	unitTimeout time.Duration
	verifier    Verifier
	verifyDelay time.Duration
	locks       *resourceLocks
	verifies    *verifications
	// continuations: see Options.Continuations.
	continuations *Continuations
}

// Options are a Handler's built settings.
type Options struct {
	// ShardKey verifies shard messages; nil refuses them.
	ShardKey *events.ShardKey
	// Concurrency bounds the resources of one batch reconciled at once (≥ 1).
	Concurrency int
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
	// DryRun says the controller's target is a dry-run recorder.
	DryRun bool
	// UnitTimeout bounds one message's reconcile (> 0): what has not
	// finished by then is retried. It bounds how late a stale write can land.
	UnitTimeout time.Duration
	// Verifier, when set, receives a verification of every message whose
	// reconcile wrote, VerifyDelay later (converge.go). VerifyDelay must
	// exceed UnitTimeout.
	Verifier    Verifier
	VerifyDelay time.Duration
	// Continuations, when set, run shard messages as runs of segments that
	// each fit the batch's deadline (Lambda); not with DryRun.
	Continuations *Continuations
}

// New builds a Handler over the controller.
func New(c *controller.Controller, opts Options) (*Handler, error) {
	if c == nil {
		return nil, fmt.Errorf("dispatch: no controller")
	}
	if opts.Concurrency < 1 {
		return nil, fmt.Errorf("dispatch: concurrency %d: want at least 1", opts.Concurrency)
	}
	if opts.UnitTimeout <= 0 {
		return nil, fmt.Errorf("dispatch: unit timeout %v: want above 0", opts.UnitTimeout)
	}
	if opts.Verifier != nil && opts.VerifyDelay <= opts.UnitTimeout {
		return nil, fmt.Errorf("dispatch: verify delay %v must exceed the unit timeout %v, or a stale write could land after the verification", opts.VerifyDelay, opts.UnitTimeout)
	}
	if c := opts.Continuations; c != nil {
		switch {
		case opts.DryRun:
			return nil, fmt.Errorf("dispatch: continuations write a run's state, which a dry run does not")
		case c.Store == nil || c.Send == nil:
			return nil, fmt.Errorf("dispatch: continuations need a store and a sender")
		case opts.ShardKey == nil:
			return nil, fmt.Errorf("dispatch: continuations are shard messages, which need a shard key")
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{continuations: opts.Continuations, controller: c, shardKey: opts.ShardKey, concurrency: opts.Concurrency, metrics: opts.Metrics, log: log, dryRun: opts.DryRun,
		unitTimeout: opts.UnitTimeout, verifier: opts.Verifier, verifyDelay: opts.VerifyDelay,
		locks: newResourceLocks(), verifies: &verifications{due: map[string]time.Time{}}}, nil
}

func (h *Handler) logger() *slog.Logger { return h.log }

// work is one unit of a batch: a resource or a shard, with the messages about it.
type work struct {
	key string
	// verification: every message of the unit is a verification (none
	// schedules another); body is the handled message's, to verify with.
	verification bool
	body         []byte
	decision     *events.Decision
	shard        *events.ShardRequest
	// notBefore is the arrival of the latest message of the unit.
	notBefore time.Time
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
	batchStart := time.Now()
	for i, it := range items {
		msg, err := events.Parse(it.Body, it.Attributes, h.shardKey)
		var unit work
		arrived := it.ReceivedAt
		if arrived.IsZero() {
			arrived = batchStart
		}
		switch {
		case err != nil:
			out[i] = outcomeOf(it.ID, err)
			h.finished(it.ID, "", "", out[i], 0)
			continue
		case msg.Shard != nil:
			unit = work{key: msg.Shard.Key(), shard: msg.Shard, notBefore: arrived}
		default:
			d, err := events.Evaluate(ctx, msg)
			if err != nil {
				out[i] = outcomeOf(it.ID, err)
				h.finished(it.ID, msg.ResourceType, "", out[i], 0)
				continue
			}
			unit = work{key: d.Key(), decision: &d, notBefore: arrived, verification: it.Attributes[VerificationAttribute] != "", body: it.Body}
		}
		if w, ok := byKey[unit.key]; ok {
			// The later message wins: its decision (upsert or delete) is the newer intent.
			if unit.decision != nil && w.decision != nil {
				inheritEntityIdentifier(unit.decision, *w.decision)
			}
			w.decision, w.shard, w.body = unit.decision, unit.shard, unit.body
			w.verification = w.verification && unit.verification
			if unit.notBefore.After(w.notBefore) {
				w.notBefore = unit.notBefore
			}
			w.items = append(w.items, i)
			continue
		}
		unit.items = []int{i}
		byKey[unit.key] = &unit
		units = append(units, &unit)
	}

	reconciler, bulk := h.batchController()
	concurrency := h.concurrency
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
					h.handleChain(ctx, reconciler, nil, items, out, chain)
					bulk.start(1)
					continue
				}
				h.handleChain(ctx, reconciler, bulk, items, out, chain)
			}
		})
	}
	wg.Wait()
	return out
}

// handleChain handles a chain's units in order; each unit's outcome is also
// that of the messages it stands for.
func (h *Handler) handleChain(ctx context.Context, reconciler *controller.Controller, bulk *bulkUpserter, items []Item, out []Outcome, chain []*work) {
	for _, w := range chain {
		handled := w.items[len(w.items)-1]
		o := h.handleUnit(ctx, reconciler, bulk, items[handled].ID, w)
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
func inheritEntityIdentifier(winner *events.Decision, earlier events.Decision) {
	if winner.Action != events.ActionUpsert || winner.EntityIdentifier != "" {
		return
	}
	switch {
	case earlier.EntityIdentifier != "":
		winner.EntityIdentifier = earlier.EntityIdentifier
	case earlier.Action == events.ActionDelete && earlier.ResourceIdentifier != "":
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

// batchController returns the controller view for one batch: one whose
// upserts share bulk requests through the returned bulkUpserter, or the
// controller itself in a dry run (nothing is sent, nothing to share).
func (h *Handler) batchController() (*controller.Controller, *bulkUpserter) {
	if h.dryRun {
		return h.controller, nil
	}
	bulk := newBulkUpserter(h.controller.Target())
	return h.controller.WithTarget(bulk), bulk
}

func (h *Handler) handleUnit(ctx context.Context, c *controller.Controller, bulk *bulkUpserter, id string, w *work) Outcome {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		// Too late to start: the message goes back to the queue untouched.
		return Outcome{ID: id, Status: StatusRetry, Err: fmt.Errorf("not started: %w", context.Cause(ctx))}
	}
	if w.shard != nil {
		o := h.syncShard(ctx, c, id, *w.shard)
		h.finished(id, w.shard.Shard.Kind, "sync_shard", o, time.Since(start))
		return o
	}
	d := *w.decision
	if len(c.Mapper().ForKind(d.ResourceType)) == 0 {
		o := Outcome{ID: id, Status: StatusDeadLetter, Reason: events.ReasonUnknownResourceType, Report: &Report{Decision: &d, DryRun: h.dryRun},
			Err: fmt.Errorf("no config entry has kind %s", d.ResourceType)}
		h.finished(id, d.ResourceType, string(d.Action), o, time.Since(start))
		return o
	}
	if o, refused := h.refuseAccount(c, id, d); refused {
		h.finished(id, d.ResourceType, string(d.Action), o, time.Since(start))
		return o
	}
	scope := ScopeOf(c, d, w.notBefore)
	unitCtx, cancel := context.WithTimeout(ctx, h.unitTimeout)
	defer cancel()
	// While it waits for another reconcile of the same resource, this worker
	// is out of the batch's shared upserts: they must not wait for it (that
	// other reconcile may itself wait for its own batch's upserts). Only
	// while it waits: stepping out when the locks are free would let the
	// batch's upserts leave before this unit's joins them.
	waiting := false
	release, err := h.locks.lock(unitCtx, c.Keys(scope), func() {
		if bulk != nil {
			waiting = true
			bulk.finish()
		}
	})
	if waiting {
		bulk.start(1)
	}
	if err != nil {
		o := Outcome{ID: id, Status: StatusRetry, Err: fmt.Errorf("waiting for another reconcile of the same resource: %w", err), Report: &Report{Decision: &d}}
		h.finished(id, d.ResourceType, string(d.Action), o, time.Since(start))
		return o
	}
	sr := c.Reconcile(unitCtx, scope)
	release()
	if h.verifier != nil && !w.verification && (sr.Upserted > 0 || sr.Deleted > 0) && h.verifies.claim(w.key, h.verifyDelay) {
		// Sent after the write: a verification may not be lost silently,
		// but failing to send one only loses the guarantee across
		// replicas, which the full sync still restores.
		if err := h.verifier.Verify(context.WithoutCancel(ctx), w.body, h.verifyDelay); err != nil {
			h.log.Warn("could not schedule the verification of a write", "message_id", id, "error", err)
		}
	}
	for _, err := range sr.Errors {
		h.metrics.Failure(metrics.ScopeEvent, Cause(err))
	}
	report := reportOf(&d, sr, h.dryRun)
	o := outcomeOf(id, classify(sr.Errors))
	o.Report = report
	h.finished(id, d.ResourceType, string(d.Action), o, time.Since(start))
	for range len(w.items) - 1 {
		h.metrics.Event(d.ResourceType, string(d.Action), metrics.OutcomeDuplicate, 0)
	}
	return o
}

// ScopeOf turns a decision into the narrowed scope it asks for. The message
// only says where to look: the resource to read (and upsert) and the entity
// that may be gone. Whether anything is deleted is the plan's decision, on
// AWS's answers; the action is no more than a hint of which identifier names
// what, and a delete reads AWS like an upsert does.
func ScopeOf(c *controller.Controller, d events.Decision, notBefore time.Time) controller.Scope {
	scope := controller.Scope{
		Shard:     source.Shard{AccountID: accountOf(c, d), Region: d.Region, Kind: d.ResourceType},
		Entities:  []string{d.DeleteIdentifier()},
		NotBefore: notBefore,
	}
	switch {
	case d.ResourceIdentifier != "":
		scope.Resources = []string{d.ResourceIdentifier}
	case d.Action == events.ActionUpsert:
		scope.Resources = []string{d.Identifier}
	}
	// A delete without resource_identifier names the entity only: the proof
	// reads the resource the entity can come from (internal/identity), or
	// lists the shard, instead of asking Cloud Control for an identifier
	// that may not be one.
	return scope
}

func (h *Handler) syncShard(ctx context.Context, c *controller.Controller, id string, req events.ShardRequest) Outcome {
	report := &Report{Shard: &req.Shard, DryRun: h.dryRun}
	// The message names the shard; what to list comes from the config.
	shard, ok := c.Shard(req.Shard.AccountID, req.Shard.Region, req.Shard.Kind)
	if !ok && len(c.Accounts()) > 0 && c.RefreshAccounts(ctx) == nil {
		// An account that joined since this process resolved the list.
		shard, ok = c.Shard(req.Shard.AccountID, req.Shard.Region, req.Shard.Kind)
	}
	if !ok {
		account := req.Shard.AccountID
		if account == "" {
			account = c.AccountID()
		}
		return Outcome{ID: id, Status: StatusDeadLetter, Reason: events.ReasonBadShardMessage, Report: report,
			Err: fmt.Errorf("shard %s: the config does not sync it in account %s", req, account)}
	}
	if h.continuations != nil {
		return h.syncSegment(ctx, c, id, req, shard)
	}
	sr := c.Reconcile(ctx, controller.Scope{Shard: shard})
	report.ShardSummary = &ShardSummary{Listed: sr.Listed, Mapped: sr.Mapped, Upserted: sr.Upserted, Deleted: sr.Deleted, Failed: sr.Failed, Errors: errorStrings(sr.Errors)}
	var err error
	if !sr.OK() {
		// A shard with errors is retried by SQS, whose redrive policy bounds
		// how often, unless every error is one retrying cannot fix.
		err = classify(sr.Errors)
	}
	o := outcomeOf(id, err)
	o.Report = report
	return o
}

// finished logs and counts one handled unit.
func (h *Handler) finished(id, resourceType, action string, o Outcome, took time.Duration) {
	h.metrics.Event(resourceType, action, o.Status.String(), took)
	log := h.logger().With("message_id", id, "outcome", o.Status.String())
	if o.Report != nil && o.Report.Decision != nil {
		d := o.Report.Decision
		log = log.With("account", h.controller.AccountID())
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

// Concurrency is how many resources of one batch are reconciled at once.
func (h *Handler) Concurrency() int { return h.concurrency }
