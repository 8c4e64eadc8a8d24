package events

import (
	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Report is what handling one message decided and did: what `handle` prints
// and what the logs carry.
type Report struct {
	// Decision is set for event messages that evaluated.
	Decision *Decision `json:"decision,omitempty"`
	// Shard is set for shard messages.
	Shard *ShardRequest `json:"shard,omitempty"`
	// LookedUp is whether Cloud Control was asked for the resource; a message
	// for a region the config does not sync is decided without asking.
	LookedUp bool `json:"looked_up"`
	// Found is whether Cloud Control still has the resource (event messages).
	Found bool `json:"found"`
	// Notes explain the path taken, e.g. "delete requested but the resource
	// still exists: upserted instead".
	Notes []string `json:"notes,omitempty"`
	// Upserts and Deletes are the writes made (or, in a dry run, planned).
	Upserts []entity.Entity `json:"upserts,omitempty"`
	Deletes []entity.Ref    `json:"deletes,omitempty"`
	// Failed lists the writes that failed, with their errors.
	Failed []string `json:"failed,omitempty"`
	// ShardSummary is set for shard messages: counts of the shard's sync.
	ShardSummary *ShardSummary `json:"shard_summary,omitempty"`
	DryRun       bool          `json:"dry_run,omitempty"`
}

// ShardSummary is the part of a shard sync report that a message outcome carries.
type ShardSummary struct {
	Listed, Mapped, Upserted, Deleted, Failed int
	Errors                                    []string `json:",omitempty"`
}

func (r *Report) note(s string) { r.Notes = append(r.Notes, s) }
