package dispatch

import (
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Report is what handling one message decided and did: what `handle` prints
// and what the logs carry.
type Report struct {
	// Decision is set for event messages that evaluated.
	Decision *events.Decision `json:"decision,omitempty"`
	// Shard is set for shard messages.
	Shard *source.Shard `json:"shard,omitempty"`
	// LookedUp is whether Cloud Control was asked for a resource; a message
	// for a region the config does not sync is decided without asking.
	LookedUp bool `json:"looked_up"`
	// Found is whether Cloud Control still has a resource the message names.
	Found bool `json:"found"`
	// Reads are the GetResource calls made, with what each found.
	Reads []ReadReport `json:"reads,omitempty"`
	// Notes explain the path taken, e.g. why nothing was deleted.
	Notes []string `json:"notes,omitempty"`
	// Upserts and Deletes are the writes made (or, in a dry run, planned).
	Upserts []entity.Entity `json:"upserts,omitempty"`
	Deletes []entity.Ref    `json:"deletes,omitempty"`
	// Withheld are the deletions the plan did not make, with the reason.
	Withheld []plan.Withheld `json:"withheld,omitempty"`
	// Failed lists the errors of the scope.
	Failed []string `json:"failed,omitempty"`
	// ShardSummary is set for shard messages: counts of the shard's sync.
	ShardSummary *ShardSummary `json:"shard_summary,omitempty"`
	DryRun       bool          `json:"dry_run,omitempty"`
}

// ReadReport is one read of a narrowed scope.
type ReadReport struct {
	Identifier string `json:"identifier"`
	Found      bool   `json:"found"`
	Selected   bool   `json:"selected,omitempty"`
	Error      string `json:"error,omitempty"`
}

// ShardSummary is the part of a shard sync report that a message outcome carries.
type ShardSummary struct {
	Listed, Mapped, Upserted, Deleted, Failed int
	Errors                                    []string `json:",omitempty"`
	// For a segment of a shard's run (continuations): the run, the
	// segment, whether it paused (a continuation was sent), whether a newer
	// run took over, and why a continuation was not run.
	Run        string `json:",omitempty"`
	Segment    int    `json:",omitempty"`
	Paused     bool   `json:",omitempty"`
	Superseded bool   `json:",omitempty"`
	Stale      string `json:",omitempty"`
}

// reportOf describes a narrowed reconcile for a decision.
func reportOf(d *events.Decision, sr controller.ShardReport, dryRun bool) *Report {
	r := &Report{Decision: d, Notes: sr.Notes, Upserts: sr.Entities, Withheld: sr.Withheld, Failed: errorStrings(sr.Errors), DryRun: dryRun}
	for _, rd := range sr.Reads {
		r.LookedUp = true
		r.Found = r.Found || rd.Found
		rr := ReadReport{Identifier: rd.Identifier, Found: rd.Found, Selected: rd.Selected}
		if rd.Err != nil {
			rr.Error = rd.Err.Error()
		}
		r.Reads = append(r.Reads, rr)
	}
	r.Deletes = append(r.Deletes, sr.Plan.Deletes...)
	if d != nil && d.Action == events.ActionDelete && len(sr.Entities) > 0 {
		// CloudTrail records failed calls too: the catalog follows what exists.
		r.Notes = append([]string{"delete requested, but the resource still exists in Cloud Control: upserted instead"}, r.Notes...)
	}
	return r
}

func errorStrings(errs []error) []string {
	if len(errs) == 0 {
		return nil
	}
	out := make([]string, len(errs))
	for i, err := range errs {
		out[i] = err.Error()
	}
	return out
}
