package controller

import "github.com/port-labs/port-aws-exporter/internal/source"

// ShardPhase is where a shard of a full sync is.
type ShardPhase int

const (
	// ShardStarted: the shard's listing begins.
	ShardStarted ShardPhase = iota
	// ShardListing: a resource was read or a bulk of entities written.
	ShardListing
	// ShardListed: listing and upserts are done; the deletions wait until
	// every shard has listed.
	ShardListed
	// ShardDone: the deletions are done; Report is set.
	ShardDone
)

// ShardEvent is a full sync's progress on one shard, for an observer such
// as the CLI's progress display.
type ShardEvent struct {
	Shard source.Shard
	Phase ShardPhase
	// Counts so far.
	Listed, Mapped, Upserted, Failed int
	// Report is the shard's outcome, with ShardDone only.
	Report *ShardReport
}

// progress tells the observer, if any, where the shard is. The observer is
// called from the shard's goroutines, concurrently for different shards,
// and must be quick.
func (c *Controller) progress(w *shardWork, phase ShardPhase) {
	if c.Progress == nil {
		return
	}
	w.mu.Lock()
	ev := ShardEvent{Shard: w.shard, Phase: phase, Listed: w.report.Listed, Mapped: w.report.Mapped,
		Upserted: w.report.Upserted, Failed: w.report.Failed}
	if phase == ShardDone {
		r := w.report
		ev.Report = &r
	}
	w.mu.Unlock()
	c.Progress(ev)
}
