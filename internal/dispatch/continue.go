package dispatch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Continuations let a shard message run as a run of segments, each within
// its invocation's deadline (see internal/continuation and
// controller.ReconcileSegment). Lambda sets them; without them a shard
// message reconciles the whole shard in one go.
type Continuations struct {
	// Store keeps the shards' heads, and the states too big for a message.
	Store continuation.Store
	// Send puts the next segment's shard message on the events queue.
	Send func(ctx context.Context, req events.ShardRequest) error
	// Margin is how long before the batch's deadline a segment asks for no
	// more pages: the pages already listed are read, written and the next
	// message sent in that time, or the run's deletions made. 0: a sixth of
	// the time the segment has, at least MinMargin (at most half of it).
	Margin time.Duration
	// PagesPerSegment, when above 0, bounds a segment's pages whatever its
	// time (tests; a bound on one invocation's work).
	PagesPerSegment int
	// InlineLimit bounds the state carried in the message (0:
	// continuation.DefaultInlineLimit; negative: always in the store).
	InlineLimit int
	// RunAlive: a run whose head moved at most this long ago is under way,
	// and a new shard message of the shard leaves it to finish rather than
	// replacing it; an older one is taken for stuck (its next message lost)
	// and replaced. 0: DefaultRunAlive; negative: a new message always
	// replaces the run.
	RunAlive time.Duration
}

// DefaultRunAlive is two of Lambda's longest invocations: a run moves its
// head at least once per invocation, so a head older than that has no
// segment running or queued. Without it a shard whose run outlasts the
// schedule's interval would be replaced by every fan-out and never finish.
const DefaultRunAlive = 30 * time.Minute

func (c *Continuations) runAlive() time.Duration {
	if c.RunAlive == 0 {
		return DefaultRunAlive
	}
	return c.RunAlive
}

// MinMargin is the least default Margin.
const MinMargin = 5 * time.Second

// maxShardMessageBytes keeps a continuation under SQS's 256 KiB with room
// for its message attributes (the signature).
const maxShardMessageBytes = events.MaxBodyBytes - 8<<10

// finalWriteTimeout bounds the store writes and the send that end a
// segment: they run past the batch's context, which may end meanwhile.
const finalWriteTimeout = 10 * time.Second

func (c *Continuations) inlineLimit() int {
	switch {
	case c.InlineLimit == 0:
		return continuation.DefaultInlineLimit
	case c.InlineLimit < 0:
		return -1
	}
	return c.InlineLimit
}

// pauseAt is when a segment asks for its last page: Margin before ctx's
// deadline; zero (never) without a deadline.
func (c *Continuations) pauseAt(ctx context.Context) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return time.Time{}
	}
	margin := c.Margin
	if margin <= 0 {
		// A short invocation still lists for half its time.
		left := time.Until(deadline)
		margin = min(max(MinMargin, left/6), left/2)
	}
	return deadline.Add(-margin)
}

// syncSegment runs one segment of a shard's run: a new run for a shard
// message without continuation, else the segment the message names, if its
// run is still the shard's current one and no other delivery ran it.
func (h *Handler) syncSegment(ctx context.Context, c *controller.Controller, id string, req events.ShardRequest, shard source.Shard) Outcome {
	cs := h.continuations
	report := &Report{Shard: &req.Shard, DryRun: h.dryRun}
	log := h.log.With("message_id", id, "shard", shard.String())
	var (
		seg     controller.Segment
		head    continuation.Head
		version string
	)
	if cont := req.Continuation; cont == nil {
		// A run under way covers this sync: its later pages are listed
		// after this message was sent, and its deletions wait for its last
		// page, so starting again would only throw its work away (and a
		// shard whose run outlasts the schedule would never finish).
		cur, _, err := cs.Store.Head(ctx, shard)
		switch {
		case err != nil && !errors.Is(err, continuation.ErrNoHead):
			return Outcome{ID: id, Status: StatusRetry, Report: report, Err: fmt.Errorf("read the run of %s in %s: %w", shard, cs.Store, err)}
		case err == nil && !cur.Done && cs.runAlive() > 0 && time.Since(cur.UpdatedAt) <= cs.runAlive():
			why := fmt.Sprintf("run %s (begun %s, at segment %d, last moved %s ago) is under way and covers it",
				cur.RunID, cur.StartedAt.Format(time.RFC3339), cur.Seq, time.Since(cur.UpdatedAt).Round(time.Second))
			log.Info("shard message not run", "why", why)
			report.ShardSummary = &ShardSummary{Run: cur.RunID, Segment: cur.Seq, Stale: why}
			return Outcome{ID: id, Status: StatusOK, Report: report}
		}
		// No run, a complete one, or one stuck past RunAlive: a new run
		// replaces it; a stuck run's late message finds another run in the
		// head and stops.
		head = continuation.Head{RunID: newRunID(), StartedAt: time.Now().UTC()}
		v, err := cs.Store.PutHead(ctx, shard, head, "")
		if err != nil {
			return Outcome{ID: id, Status: StatusRetry, Report: report, Err: fmt.Errorf("begin a run of %s in %s: %w", shard, cs.Store, err)}
		}
		version = v
	} else {
		cur, v, err := cs.Store.Head(ctx, shard)
		if err != nil && !errors.Is(err, continuation.ErrNoHead) {
			return Outcome{ID: id, Status: StatusRetry, Report: report, Err: fmt.Errorf("read the run of %s in %s: %w", shard, cs.Store, err)}
		}
		if stale := staleContinuation(cur, err, *cont); stale != "" {
			// Another delivery ran this segment, or a newer run began:
			// nothing to do, and above all nothing to delete.
			log.Info("continuation not run", "run", cont.RunID, "seq", cont.Seq, "why", stale)
			report.ShardSummary = &ShardSummary{Run: cont.RunID, Segment: cont.Seq, Stale: stale}
			return Outcome{ID: id, Status: StatusOK, Report: report}
		}
		state := []byte(cont.State)
		if cont.StateKey != "" {
			if state, err = cs.Store.GetState(ctx, cont.StateKey); err != nil {
				return Outcome{ID: id, Status: StatusRetry, Report: report, Err: fmt.Errorf("read the run's state: %w", err)}
			}
		}
		if err := continuation.DecodeState(state, &seg); err != nil {
			return Outcome{ID: id, Status: StatusDeadLetter, Reason: events.ReasonBadShardMessage, Report: report, Err: err}
		}
		cursor := cont.Cursor
		seg.Resume, seg.Pages, seg.Listed, seg.Restarts = &cursor, cont.Pages, cont.Listed, cont.Restarts
		head, version = cur, v
	}

	claim := func(ctx context.Context) error {
		done := head
		done.Seq++
		done.Done = true
		done.StateKey = ""
		v, err := cs.Store.PutHead(ctx, shard, done, version)
		if errors.Is(err, continuation.ErrConflict) {
			return fmt.Errorf("%w (run %s at segment %d)", controller.ErrSuperseded, head.RunID, head.Seq)
		}
		if err == nil {
			version = v
		}
		return err
	}
	res := c.ReconcileSegment(ctx, shard, seg, controller.SegmentOptions{PauseAt: cs.pauseAt(ctx), MaxPages: cs.PagesPerSegment, Claim: claim})
	sr := res.Report
	report.ShardSummary = &ShardSummary{Listed: sr.Listed, Mapped: sr.Mapped, Upserted: sr.Upserted, Deleted: sr.Deleted, Failed: sr.Failed,
		Errors: errorStrings(sr.Errors), Run: head.RunID, Segment: head.Seq + 1, Paused: res.Next != nil, Superseded: res.Superseded}
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	switch {
	case res.Superseded:
		return Outcome{ID: id, Status: StatusOK, Report: report}
	case res.Next == nil:
		// The run's last segment (or a failed listing, retried as is).
		err := classify(sr.Errors)
		if err == nil && head.Seq > 0 {
			if derr := cs.Store.DeleteRun(final, shard, head.RunID); derr != nil {
				log.Warn("could not remove the run's states; a lifecycle rule on the store's prefix removes them", "error", derr)
			}
		}
		o := outcomeOf(id, err)
		o.Report = report
		return o
	}

	// Paused. A transient error redoes the segment (SQS redelivers this
	// message; the head still names it); a permanent one would come back
	// the same, so the run goes on and the error withholds its deletions.
	next := res.Next
	for _, err := range sr.Errors {
		reason, transient := reasonOf(err)
		if transient {
			o := outcomeOf(id, classify(sr.Errors))
			o.Report = report
			return o
		}
		next.Problems = append(next.Problems, controller.Problem{Reason: reason, Error: err.Error()})
	}
	if err := h.sendNext(final, shard, req, head, version, *next); err != nil {
		if errors.Is(err, controller.ErrSuperseded) {
			log.Info("shard run superseded while paused; not continued", "run", head.RunID)
			report.ShardSummary.Superseded = true
			return Outcome{ID: id, Status: StatusOK, Report: report}
		}
		return Outcome{ID: id, Status: StatusRetry, Report: report, Err: err}
	}
	return Outcome{ID: id, Status: StatusOK, Report: report}
}

// staleContinuation says why a continuation must not run ("" if it may).
func staleContinuation(cur continuation.Head, headErr error, cont events.Continuation) string {
	switch {
	case errors.Is(headErr, continuation.ErrNoHead):
		return "the shard has no run under way"
	case cur.RunID != cont.RunID && cur.StartedAt.After(cont.RunStartedAt):
		return fmt.Sprintf("a newer run (%s, begun %s) replaced it", cur.RunID, cur.StartedAt.Format(time.RFC3339))
	case cur.RunID != cont.RunID:
		return fmt.Sprintf("another run (%s) is the shard's current one", cur.RunID)
	case cur.Done:
		return "its run is complete"
	case cur.Seq != cont.Seq:
		return fmt.Sprintf("its run waits for continuation %d, this message is continuation %d (a duplicate or a late delivery)", cur.Seq, cont.Seq)
	case cur.StateKey != cont.StateKey:
		return "another delivery of the previous segment wrote the state the run goes on with"
	}
	return ""
}

// sendNext records the paused run's next segment in the head (only if the
// head is still the one this segment began from) and sends its message. A
// message that cannot be sent puts the head back, so that SQS's redelivery
// of this message runs the segment again.
func (h *Handler) sendNext(ctx context.Context, shard source.Shard, req events.ShardRequest, head continuation.Head, version string, next controller.Segment) error {
	cs := h.continuations
	state, err := continuation.EncodeState(next)
	if err != nil {
		return err
	}
	cont := &events.Continuation{RunID: head.RunID, RunStartedAt: head.StartedAt, Seq: head.Seq + 1, Cursor: *next.Resume,
		Pages: next.Pages, Listed: next.Listed, Restarts: next.Restarts}
	nextHead := head
	nextHead.Seq++
	nextHead.StateKey = ""
	msg := events.ShardRequest{Shard: req.Shard, RequestedAt: req.RequestedAt, Continuation: cont}
	if limit := cs.inlineLimit(); limit >= 0 && len(state) <= limit {
		cont.State = state
		if body, _, err := h.shardKey.ShardMessage(msg); err != nil || len(body) > maxShardMessageBytes {
			cont.State = nil
		}
	}
	if cont.State == nil {
		key, err := cs.Store.PutState(ctx, shard, head.RunID, nextHead.Seq, state)
		if err != nil {
			return fmt.Errorf("store the run's state: %w", err)
		}
		cont.StateKey, nextHead.StateKey = key, key
	}
	v, err := cs.Store.PutHead(ctx, shard, nextHead, version)
	if errors.Is(err, continuation.ErrConflict) {
		return fmt.Errorf("%w (run %s at segment %d)", controller.ErrSuperseded, head.RunID, head.Seq)
	}
	if err != nil {
		return fmt.Errorf("advance the run of %s: %w", shard, err)
	}
	if err := cs.Send(ctx, msg); err != nil {
		if _, rerr := cs.Store.PutHead(ctx, shard, head, v); rerr != nil {
			return fmt.Errorf("send the next segment's message: %w (and the run could not be put back: %v; the next scheduled sync starts a new one)", err, rerr)
		}
		return fmt.Errorf("send the next segment's message: %w", err)
	}
	h.log.Info("shard run continues", "shard", shard.String(), "run", head.RunID, "segment", nextHead.Seq+1,
		"pages", next.Pages, "listed", next.Listed, "entities_so_far", len(next.Desired), "state", stateWhere(cont))
	return nil
}

func stateWhere(c *events.Continuation) string {
	if c.StateKey != "" {
		return "store"
	}
	return "message"
}

// newRunID names a run: random, so two runs begun at once differ.
func newRunID() string {
	return strings.ToLower(rand.Text()[:16])
}
