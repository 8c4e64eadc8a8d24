package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// A shard too big for one Lambda invocation is reconciled as a run of
// segments. Each segment is the shard's one reconcile (prepare, then finish)
// with two differences: its listing resumes where the previous segment
// paused, and pauses at a page boundary when its time is nearly up; and only
// the segment whose listing reaches the last page runs finish, over the
// union of every segment's entities and the ownership search the first
// segment made. Entities are upserted as each segment maps them, as in any
// listing, so a pause loses nothing but the rest of the listing.
//
// The ownership search is made once, when the run begins, as the full sync
// makes it when its listing begins: an entity an event writes while the run
// goes on is not in it, so the run's stale deletion cannot take it for stale
// because its resource was created behind the listing.
//
// This file keeps the state a run carries between segments (Segment); where
// it is kept, and which run of a shard is current, is the caller's
// (internal/continuation, dispatch).

// Segment is what a run's next segment needs from the ones before it.
type Segment struct {
	// Resume is where the listing resumes; nil starts at the first page.
	Resume *source.Cursor
	// Desired are the entities the run's earlier segments produced.
	Desired []entity.Ref
	// Owned is what the shard owned in OwnedBlueprints when the run began
	// (the early ownership search); OwnedSearched says it was made.
	Owned           []entity.Ref
	OwnedBlueprints []string
	OwnedSearched   bool
	// Problems are errors of earlier segments that did not stop the run (a
	// resource that failed to map, a write Port refused): any of them
	// withholds the run's deletions, as an error withholds a shard's.
	Problems []Problem
	// Pages and Listed count the run's pages and resources so far;
	// Restarts how often its listing started again from the first page.
	Pages, Listed, Restarts int
}

// Problem is an earlier segment's error, as text: its kind (a dead-letter
// reason) and message.
type Problem struct {
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// EarlierSegmentError reports, in the last segment, the problems of the
// run's earlier ones: it withholds the run's deletions (HealthyShard) and
// gives the run's last message the fate of the first problem.
type EarlierSegmentError struct{ Problems []Problem }

func (e *EarlierSegmentError) Error() string {
	first := e.Problems[0]
	return fmt.Sprintf("%d error(s) in earlier segments of this run, first (%s): %s", len(e.Problems), first.Reason, first.Error)
}

// ErrSuperseded: another run of the shard began since this one; this run
// stops and deletes nothing (the newer one will).
var ErrSuperseded = errors.New("another run of the shard began since this one")

// MaxRestarts bounds how often a run's listing starts again from the first
// page after Cloud Control refused its resumed token.
const MaxRestarts = 3

// SegmentOptions shape one segment.
type SegmentOptions struct {
	// PauseAt: the listing asks for no page that would end after it (by the
	// pages' pace so far); zero never pauses.
	PauseAt time.Time
	// MaxPages, when above 0, pauses the listing after that many pages
	// whatever the time (a bound on one segment's work; tests).
	MaxPages int
	// Claim, when set, is called once the listing is complete and the run
	// healthy, before the ownership search and the deletions: an error
	// wrapping ErrSuperseded ends the run with nothing deleted, any other
	// error is the scope's (and withholds the deletions).
	Claim func(ctx context.Context) error
}

// SegmentResult is what one segment did.
type SegmentResult struct {
	Report ShardReport
	// Next is set when the listing paused: the state of the next segment.
	Next *Segment
	// Superseded: Claim said a newer run took over; nothing was deleted.
	Superseded bool
	// Restarted: the resumed listing was refused and started again.
	Restarted bool
}

// segmentWork is a segment's listing state inside a shardWork.
type segmentWork struct {
	resume   *source.Cursor
	pauseAt  time.Time
	maxPages int
	restarts int
	// out of the listing:
	paused    *source.Cursor
	pages     int
	restarted bool
}

// pauseFunc asks to pause when the resources listed but not delivered yet
// (the pager runs ahead of the reads) and one more page, at the pace of
// the deliveries so far, would end past pauseAt. delivered counts the
// resources this segment delivered.
func (s *segmentWork) pauseFunc(delivered func() int) func(listed int) bool {
	if s.pauseAt.IsZero() && s.maxPages <= 0 {
		return nil
	}
	start := time.Now()
	pages := 0
	return func(listed int) bool {
		pages++
		if s.maxPages > 0 && pages >= s.maxPages {
			return true
		}
		if s.pauseAt.IsZero() {
			return false
		}
		elapsed := time.Since(start)
		need := 3 * elapsed // nothing delivered yet: three times what one page took
		if done := delivered(); done > 0 {
			perResource := elapsed / time.Duration(done)
			backlog := max(0, listed-done)
			perPage := listed / pages
			need = time.Duration(backlog+perPage) * perResource
		}
		return time.Now().Add(need).After(s.pauseAt)
	}
}

// ReconcileSegment reconciles one segment of a shard's run: the first when
// seg is zero. See the top of this file.
func (c *Controller) ReconcileSegment(ctx context.Context, shard source.Shard, seg Segment, opts SegmentOptions) SegmentResult {
	w := newShardWork(shard, false)
	w.seg = &segmentWork{resume: seg.Resume, pauseAt: opts.PauseAt, maxPages: opts.MaxPages, restarts: seg.Restarts}
	for _, ref := range seg.Desired {
		w.desired[ref] = struct{}{}
	}
	if seg.OwnedSearched {
		w.early = make(chan ownedResult, 1)
		w.early <- ownedResult{refs: seg.Owned}
		w.earlyBlueprints = seg.OwnedBlueprints
	}
	log := c.log.With("shard", shard.String())
	c.prepareWork(ctx, w)
	res := SegmentResult{Restarted: w.seg.restarted}
	pages := seg.Pages + w.seg.pages
	listed := seg.Listed + w.report.Listed
	if w.seg.restarted {
		pages, listed = w.seg.pages, w.report.Listed
	}

	// A paused segment's errors are the caller's to weigh (a transient one
	// redoes the segment, a permanent one joins Problems); without the
	// ownership search of the run's start, the run cannot go on.
	if w.seg.paused != nil {
		owned, blueprints, searched := seg.Owned, seg.OwnedBlueprints, seg.OwnedSearched
		ownedOK := true
		if !searched && w.early != nil {
			r := <-w.early
			if r.err != nil {
				w.fail(fmt.Errorf("list owned entities: %w", r.err))
				ownedOK = false
			}
			owned, blueprints = r.refs, w.earlyBlueprints
		}
		if ownedOK {
			res.Next = &Segment{Resume: w.seg.paused, Desired: sortedRefs(w.desired),
				Owned: owned, OwnedBlueprints: blueprints, OwnedSearched: true,
				Problems: seg.Problems, Pages: pages, Listed: listed, Restarts: w.seg.restarts}
		}
	}
	if w.seg.paused != nil {
		w.report.Duration = time.Since(w.started)
		log.Info("shard paused", "pages", pages, "listed", listed, "upserted", w.report.Upserted,
			"entities_so_far", len(w.desired), "failed", w.report.Failed, "took", w.report.Duration)
		res.Report = w.report
		return res
	}

	// The listing is complete (or failed): this is the run's last segment.
	if len(seg.Problems) > 0 {
		w.fail(&EarlierSegmentError{Problems: seg.Problems})
	}
	if w.report.OK() && opts.Claim != nil {
		if err := opts.Claim(ctx); err != nil {
			if errors.Is(err, ErrSuperseded) {
				if w.early != nil {
					<-w.early
				}
				w.note("superseded: " + err.Error())
				w.report.Duration = time.Since(w.started)
				log.Info("shard run superseded; nothing deleted", "reason", err)
				res.Report, res.Superseded = w.report, true
				return res
			}
			w.fail(fmt.Errorf("claim the run before deleting: %w", err))
		}
	}
	log.Info("shard run listed", "pages", pages, "listed", listed, "entities", len(w.desired), "restarts", w.seg.restarts)
	res.Report = c.finish(ctx, w, nil)
	return res
}

// listSegment lists w's shard: the whole of it, or for a segment from its
// cursor until it pauses. A resumed listing Cloud Control refuses (its token
// expired, or the config's resource models changed) starts again from the
// first page, forgetting the earlier segments' entities: the new listing
// will produce them again, and nothing is deleted until it is complete.
func (c *Controller) listSegment(ctx context.Context, w *shardWork, opts source.ListOptions, log *slog.Logger, fn func(source.Resource) error) error {
	s := w.seg
	if s == nil {
		return c.parts.Source.List(ctx, w.shard, opts, fn)
	}
	for {
		opts.Resume = s.resume
		base := w.listedCount()
		opts.Pause = s.pauseFunc(func() int { return w.listedCount() - base })
		calls := 0
		if opts.Pause != nil {
			pause := opts.Pause
			opts.Pause = func(listed int) bool { calls++; return pause(listed) }
		}
		err := c.parts.Source.List(ctx, w.shard, opts, fn)
		var paused *source.PausedError
		switch {
		case errors.As(err, &paused):
			s.paused = &paused.Cursor
			s.pages += paused.Pages
			return nil
		case err == nil:
			s.pages += calls + 1
			return nil
		case s.resume != nil && (errors.Is(err, source.ErrTokenExpired) || errors.Is(err, source.ErrCursorInvalid)) && s.restarts < MaxRestarts:
			log.Warn("the resumed listing was refused; the shard's run starts again from its first page", "error", err, "restarts", s.restarts+1)
			s.restarts++
			s.resume = nil
			s.restarted = true
			s.pages = 0
			w.mu.Lock()
			clear(w.desired)
			w.mu.Unlock()
		default:
			return err
		}
	}
}

func sortedRefs(set map[entity.Ref]struct{}) []entity.Ref {
	out := make([]entity.Ref, 0, len(set))
	for ref := range set {
		out = append(out, ref)
	}
	slices.SortFunc(out, compareRefs)
	return out
}

// listedCount is how many resources the work's listing delivered.
func (w *shardWork) listedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.report.Listed
}
