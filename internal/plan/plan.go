// Package plan compares what a scope of a shard should have in Port (desired)
// with what the exporter owns there, and decides what to delete. It does no
// I/O, so every safety rule about deletion is testable without servers.
//
// The same plan serves the full sync (the scope is the whole shard, and the
// listing is the proof that an owned entity is gone) and the events (the scope
// is narrowed to the few entities a message names, and each deletion needs its
// own proof from AWS). A message never decides a deletion: it only narrows
// where the controller looks.
package plan

import (
	"fmt"
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Input is everything a plan is computed from.
type Input struct {
	// Desired is what the scope's resources mapped to in this run. Only
	// references: the entities themselves are upserted as they are mapped, so
	// memory does not grow with their content.
	Desired []entity.Ref
	// Owned is what the registry says the shard owns in Port now, within the
	// scope (all of the shard's entities for a full scope, or those among
	// Candidates for a narrowed one).
	Owned []entity.Ref
	// Candidates are, for a narrowed scope, the entities the scope is about
	// whether or not this exporter wrote them; only the sync-unowned policy
	// looks at them. Nil for a full scope.
	Candidates []entity.Ref
	// Narrowed is true when the scope is a few resources of the shard rather
	// than the whole listing (an event).
	Narrowed bool
	// Problems are the scope's errors in this run (listing, reading, mapping,
	// ...). Any problem means the desired set may be incomplete.
	Problems []error
	// Proven reports whether AWS has shown that no resource of the shard maps
	// to the entity now (a complete listing, or a definite not-found of the
	// one resource that could). Nil means nothing is proven.
	Proven func(entity.Ref) bool
	// Protected reports entities desired by another shard in the same run
	// (an S3 bucket listed from two regions, say); they are never deleted.
	Protected func(entity.Ref) bool
}

// Withheld is a deletion the plan decided not to make, and why.
type Withheld struct {
	Ref    entity.Ref
	Reason string
}

// Plan is the set of deletions for one scope. Upserts are not planned: every
// desired entity is upserted (idempotent, and Port's merge keeps the fields
// the exporter does not map).
type Plan struct {
	Deletes []entity.Ref
	// Withheld are stale entities kept on purpose (guards, policy).
	Withheld []Withheld
}

// Policy chooses the deletions a plan starts from, like external-dns's sync /
// upsert-only policies: which stale entities may go at all.
type Policy interface {
	Stale(in Input) Plan
}

// Guard withholds deletions that are not safe to make.
type Guard interface {
	Check(in Input, p *Plan)
}

// Calculate computes the plan for one scope: the policy picks the stale
// entities, then every guard may withhold some. Guards run in order; a guard
// sees only what the ones before it let through.
func Calculate(in Input, policy Policy, guards ...Guard) Plan {
	p := policy.Stale(in)
	for _, g := range guards {
		if len(p.Deletes) == 0 {
			break
		}
		g.Check(in, &p)
	}
	sortRefs(p.Deletes)
	return p
}

// stale returns the refs that are not desired, once each, in input order;
// those another shard of the run produced are withheld.
func stale(in Input, refs []entity.Ref) Plan {
	var p Plan
	desired := make(map[entity.Ref]bool, len(in.Desired))
	for _, ref := range in.Desired {
		desired[ref] = true
	}
	seen := make(map[entity.Ref]bool, len(refs))
	for _, ref := range refs {
		if desired[ref] || seen[ref] {
			continue
		}
		seen[ref] = true
		if in.Protected != nil && in.Protected(ref) {
			p.Withheld = append(p.Withheld, Withheld{Ref: ref, Reason: "produced by another shard in this run"})
			continue
		}
		p.Deletes = append(p.Deletes, ref)
	}
	return p
}

// withhold moves the pending deletes for which keep is true to Withheld with
// the reason.
func (p *Plan) withhold(reason func(entity.Ref) string) {
	kept := p.Deletes[:0]
	for _, ref := range p.Deletes {
		if why := reason(ref); why != "" {
			p.Withheld = append(p.Withheld, Withheld{Ref: ref, Reason: why})
			continue
		}
		kept = append(kept, ref)
	}
	p.Deletes = kept
}

func (p *Plan) withholdAll(reason string) {
	p.withhold(func(entity.Ref) string { return reason })
}

// DeletesByBlueprint groups deleted identifiers by blueprint.
func (p Plan) DeletesByBlueprint() map[string][]string {
	out := map[string][]string{}
	for _, r := range p.Deletes {
		out[r.Blueprint] = append(out[r.Blueprint], r.Identifier)
	}
	return out
}

func sortRefs(refs []entity.Ref) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Blueprint != refs[j].Blueprint {
			return refs[i].Blueprint < refs[j].Blueprint
		}
		return refs[i].Identifier < refs[j].Identifier
	})
}

// Sync deletes stale entities the exporter owns.
type Sync struct{}

func (Sync) Stale(in Input) Plan { return stale(in, in.Owned) }

// UpsertOnly never deletes.
type UpsertOnly struct{}

func (UpsertOnly) Stale(in Input) Plan {
	p := stale(in, in.Owned)
	p.withholdAll("policy upsert-only")
	return p
}

// SyncUnowned is Port's original exporter's behaviour for events: a proven
// deletion removes the entity with that identifier whoever wrote it (by hand,
// another integration, the earlier exporter). Opt-in only: an event then
// deletes what the full sync would never touch. The proof from AWS is still
// required; only the ownership check is dropped.
type SyncUnowned struct{}

func (SyncUnowned) Stale(in Input) Plan {
	refs := append(append([]entity.Ref(nil), in.Owned...), in.Candidates...)
	return stale(in, refs)
}

// Policies by the name the CLI and config use.
var Policies = map[string]Policy{
	"sync":         Sync{},
	"upsert-only":  UpsertOnly{},
	"sync-unowned": SyncUnowned{},
}

// PolicyNames lists the policy names, sorted, for help texts.
func PolicyNames() []string {
	names := make([]string, 0, len(Policies))
	for n := range Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HealthyShard withholds every deletion of a scope that had any problem: a
// partial listing looks exactly like deleted resources, and an error (access
// denied, throttling, a timeout) is never evidence that a resource is gone.
type HealthyShard struct{}

func (HealthyShard) Check(in Input, p *Plan) {
	if len(in.Problems) > 0 {
		p.withholdAll(fmt.Sprintf("shard had %d error(s) in this run, first: %v", len(in.Problems), in.Problems[0]))
	}
}

// RequireProof withholds every deletion AWS has not proven: the entity is
// deleted only when no resource of the shard maps to it now. For a full
// scope the complete listing proves every stale entity; for an event only a
// definite not-found (or a fresh listing) does, never the message's word.
type RequireProof struct{}

func (RequireProof) Check(in Input, p *Plan) {
	p.withhold(func(ref entity.Ref) string {
		if in.Proven != nil && in.Proven(ref) {
			return ""
		}
		return "AWS has not shown that the resource is gone"
	})
}

// MaxDeleteShare withholds all of a full scope's deletions when they would
// remove more than Share of the entities it owns once this run's upserts are
// in (owned ∪ desired): the share is of the shard as it stands after the
// sync, so it does not depend on whether the ownership search ran before or
// after the upserts. A sudden mass deletion is far more often a lost
// permission, a changed selector or an API answering empty than a real mass
// deletion, and a wrong deletion loses what people added in Port. A share of
// 0 withholds every stale deletion of a full sync. Narrowed scopes (events)
// delete at most the few entities each proven gone, so the share does not
// apply to them.
type MaxDeleteShare struct {
	Share float64
}

func (g MaxDeleteShare) Check(in Input, p *Plan) {
	if in.Narrowed {
		return
	}
	owned := map[entity.Ref]bool{}
	for _, r := range in.Owned {
		owned[r] = true
	}
	if len(owned) == 0 {
		return
	}
	for _, r := range in.Desired {
		owned[r] = true
	}
	if float64(len(p.Deletes)) > g.Share*float64(len(owned)) {
		p.withholdAll(fmt.Sprintf("would delete %d of the shard's %d entities (%.0f%%), more than the allowed %.0f%% (--max-delete-share)",
			len(p.Deletes), len(owned), 100*float64(len(p.Deletes))/float64(len(owned)), 100*g.Share))
	}
}

// Guards returns the deletion guards every reconcile runs, in order.
func Guards(maxDeleteShare float64) []Guard {
	return []Guard{HealthyShard{}, RequireProof{}, MaxDeleteShare{Share: maxDeleteShare}}
}
