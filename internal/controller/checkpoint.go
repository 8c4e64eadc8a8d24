package controller

import (
	"context"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// A long-running service checkpoints the full sync's big shards, so that a
// restarted one (a rollout, a crash, another replica taking the lease over)
// resumes them instead of listing them from the first page again. The
// shard's listing runs as consecutive segments of CheckpointEvery, each
// paused at a page boundary, and between two segments the run's state (the
// cursor, the entities so far, the ownership search of the run's start) is
// saved: the state a continuation message carries in Lambda, so a resumed
// shard is the same resumed reconcile, with one deletion path.

// Checkpointer keeps the last checkpoint of each shard (internal/continuation).
type Checkpointer interface {
	// Load returns the shard's checkpoint; false when there is none to resume.
	Load(ctx context.Context, shard source.Shard) (Segment, bool, error)
	// Save replaces the shard's checkpoint.
	Save(ctx context.Context, shard source.Shard, seg Segment) error
	// Clear removes it once the shard's run is complete.
	Clear(ctx context.Context, shard source.Shard) error
}

// DefaultCheckpointEvery is how long a checkpointed shard lists between two
// checkpoints: a restart loses at most this much listing.
const DefaultCheckpointEvery = time.Minute

// SetCheckpoints makes Run checkpoint its shards in cp every interval
// (DefaultCheckpointEvery when 0), and every maxPages pages when above 0
// (tests); nil turns checkpoints off.
func (c *Controller) SetCheckpoints(cp Checkpointer, every time.Duration, maxPages int) {
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	c.checkpoints, c.checkpointEvery, c.checkpointPages = cp, every, maxPages
}

// prepareRun is Run's prepare: with checkpoints, the shard resumes from its
// checkpoint and lists in segments, each followed by a checkpoint.
func (c *Controller) prepareRun(ctx context.Context, shard source.Shard) *shardWork {
	if c.checkpoints == nil {
		return c.prepare(ctx, shard)
	}
	if c.OnShardStart != nil {
		c.OnShardStart(shard)
	}
	log := c.log.With("shard", shard.String())
	seg, ok, err := c.checkpoints.Load(ctx, shard)
	if err != nil {
		log.Warn("could not read the shard's checkpoint; listing from the first page", "error", err)
		seg, ok = Segment{}, false
	}
	if ok {
		log.Info("resuming the shard from its checkpoint", "pages", seg.Pages, "listed", seg.Listed, "entities_so_far", len(seg.Desired))
	}
	started := time.Now()
	var counts ShardReport
	for {
		w := newShardWork(shard, false)
		w.seg = &segmentWork{resume: seg.Resume, pauseAt: time.Now().Add(c.checkpointEvery), maxPages: c.checkpointPages, restarts: seg.Restarts}
		for _, ref := range seg.Desired {
			w.desired[ref] = struct{}{}
		}
		if seg.OwnedSearched {
			w.early = make(chan ownedResult, 1)
			w.early <- ownedResult{refs: seg.Owned}
			w.earlyBlueprints = seg.OwnedBlueprints
		}
		c.prepareWork(ctx, w)
		if w.seg.restarted {
			counts = ShardReport{}
		}
		addCounts(&w.report, counts)
		w.started = started
		w.busy = time.Since(started)
		if w.seg.paused == nil || !w.report.OK() {
			if len(seg.Problems) > 0 {
				w.fail(&EarlierSegmentError{Problems: seg.Problems})
			}
			return w
		}
		next, ok := c.nextSegment(w, seg)
		if !ok {
			return w
		}
		if err := c.checkpoints.Save(ctx, shard, *next); err != nil {
			log.Warn("could not save the shard's checkpoint; a restart lists it from an earlier one", "error", err)
		}
		counts, seg = w.report, *next
	}
}

// nextSegment is the state after w's paused listing; false when the
// ownership search of the run's start failed (w then holds the error).
func (c *Controller) nextSegment(w *shardWork, seg Segment) (*Segment, bool) {
	owned, blueprints := seg.Owned, seg.OwnedBlueprints
	if !seg.OwnedSearched && w.early != nil {
		r := <-w.early
		if r.err != nil {
			w.fail(r.err)
			return nil, false
		}
		owned, blueprints = r.refs, w.earlyBlueprints
	}
	pages, listed := seg.Pages+w.seg.pages, seg.Listed+w.report.Listed
	if w.seg.restarted {
		pages, listed = w.seg.pages, w.report.Listed
	}
	return &Segment{Resume: w.seg.paused, Desired: sortedRefs(w.desired), Owned: owned, OwnedBlueprints: blueprints,
		OwnedSearched: true, Problems: seg.Problems, Pages: pages, Listed: listed, Restarts: w.seg.restarts}, true
}

// addCounts adds the counts of earlier segments of this process to r.
func addCounts(r *ShardReport, earlier ShardReport) {
	r.Listed += earlier.Listed
	r.Skipped += earlier.Skipped
	r.Mapped += earlier.Mapped
	r.Upserted += earlier.Upserted
	r.Failed += earlier.Failed
	r.Duplicates += earlier.Duplicates
	for bp, n := range earlier.Upserts {
		r.Upserts[bp] += n
	}
}

// clearCheckpoint removes a shard's checkpoint once its run is complete and
// healthy; a failed run keeps it, so that the next run resumes.
func (c *Controller) clearCheckpoint(ctx context.Context, r ShardReport) {
	if c.checkpoints == nil || !r.OK() {
		return
	}
	if err := c.checkpoints.Clear(ctx, r.Shard); err != nil {
		c.log.Warn("could not clear the shard's checkpoint", "shard", r.Shard.String(), "error", err)
	}
}
