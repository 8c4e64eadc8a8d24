// Package plan compares what a shard should have in Port (desired) with what
// the exporter owns there, and decides upserts and deletes. It does no I/O, so
// every safety rule about deletion is testable without servers.
package plan

import (
	"fmt"
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Input is everything a plan is computed from.
type Input struct {
	// Desired is what the shard's resources mapped to in this run. Only
	// references: the entities themselves are upserted as they are mapped, so
	// memory does not grow with their content.
	Desired []entity.Ref
	// Owned is what the registry says the shard owns in Port now.
	Owned []entity.Ref
	// Problems are the shard's errors in this run (listing, mapping, ...).
	// Any problem means the desired set may be incomplete.
	Problems []string
	// Protected reports entities desired by another shard in the same run
	// (an S3 bucket listed from two regions, say); they are never deleted.
	Protected func(entity.Ref) bool
}

// Withheld is a deletion the plan decided not to make, and why.
type Withheld struct {
	Ref    entity.Ref
	Reason string
}

// Plan is the set of deletions for one shard. Upserts are not planned: every
// desired entity is upserted (idempotent, and Port's merge keeps the fields
// the exporter does not map).
type Plan struct {
	Deletes []entity.Ref
	// Withheld are stale entities kept on purpose (guards, policy).
	Withheld []Withheld
}

// Policy decides which kinds of change a plan may contain, like external-dns's
// sync / upsert-only policies.
type Policy interface {
	Apply(p *Plan)
}

// Guard withholds deletions that are not safe to make.
type Guard interface {
	Check(in Input, p *Plan)
}

// Calculate computes the plan for one shard: every owned entity that is no
// longer desired is deleted unless the policy or a guard withholds it.
func Calculate(in Input, policy Policy, guards ...Guard) Plan {
	var p Plan
	desired := make(map[entity.Ref]bool, len(in.Desired))
	for _, ref := range in.Desired {
		desired[ref] = true
	}
	seenOwned := make(map[entity.Ref]bool, len(in.Owned))
	for _, ref := range in.Owned {
		if desired[ref] || seenOwned[ref] {
			continue
		}
		seenOwned[ref] = true
		if in.Protected != nil && in.Protected(ref) {
			p.Withheld = append(p.Withheld, Withheld{Ref: ref, Reason: "produced by another shard in this run"})
			continue
		}
		p.Deletes = append(p.Deletes, ref)
	}
	if policy != nil {
		policy.Apply(&p)
	}
	for _, g := range guards {
		if len(p.Deletes) == 0 {
			break
		}
		g.Check(in, &p)
	}
	sortRefs(p.Deletes)
	return p
}

// withholdAll moves every pending delete to Withheld with the reason.
func (p *Plan) withholdAll(reason string) {
	for _, ref := range p.Deletes {
		p.Withheld = append(p.Withheld, Withheld{Ref: ref, Reason: reason})
	}
	p.Deletes = nil
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

// Sync allows upserts and deletes.
type Sync struct{}

func (Sync) Apply(*Plan) {}

// UpsertOnly never deletes.
type UpsertOnly struct{}

func (UpsertOnly) Apply(p *Plan) { p.withholdAll("policy upsert-only") }

// Policies by the name the CLI and config use.
var Policies = map[string]Policy{
	"sync":        Sync{},
	"upsert-only": UpsertOnly{},
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

// HealthyShard withholds every deletion of a shard that had any problem: a
// partial listing looks exactly like deleted resources.
type HealthyShard struct{}

func (HealthyShard) Check(in Input, p *Plan) {
	if len(in.Problems) > 0 {
		p.withholdAll(fmt.Sprintf("shard had %d error(s) in this run, first: %s", len(in.Problems), in.Problems[0]))
	}
}

// MaxDeleteShare withholds all of a shard's deletions when they would remove
// more than Share of the entities it owns once this run's upserts are in
// (owned ∪ desired): the share is of the shard as it stands after the sync, so
// it does not depend on whether the ownership search ran before or after the
// upserts. A sudden mass deletion is far more often a lost permission, a
// changed selector or an API answering empty than a real mass deletion, and a
// wrong deletion loses what people added in Port.
type MaxDeleteShare struct {
	Share float64
}

// DefaultMaxDeleteShare is the share of a shard's owned entities one sync may delete.
const DefaultMaxDeleteShare = 0.5

func (g MaxDeleteShare) Check(in Input, p *Plan) {
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
