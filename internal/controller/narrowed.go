package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/identity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// reconcileNarrowed reconciles a few resources and entities of a shard: the
// event path. It reads the scope's resources and upserts what they map to;
// the entities the scope names, plus those a found resource's mappings name
// while its selector now rejects it, are candidates for deletion. The plan
// deletes a candidate only when the shard owns it (the full sync's ownership
// rule) and AWS proves that no resource of the shard maps to it now.
func (c *Controller) reconcileNarrowed(ctx context.Context, scope Scope) ShardReport {
	shard := scope.Shard
	w := newShardWork(shard, true)
	log := c.log.With("shard", shard.String())
	if a, ok := c.account(shard.AccountID); !ok || a.Err != nil {
		// An event of an account outside the set, or one whose role cannot
		// be assumed, is refused: never read with another account's credentials.
		err := ErrUnknownAccount
		if ok {
			err = a.Err
		}
		w.fail(&AccountError{AccountID: shard.AccountID, Err: err})
		w.report.Duration = time.Since(w.started)
		return w.report
	}
	applicable := c.applicable(shard)
	if len(applicable) == 0 {
		// The full sync does not cover this region either: writing here would
		// create entities no sync owns or cleans up.
		w.report.Ignored = true
		w.note(fmt.Sprintf("ignored: the config does not sync %s in %s", shard.Kind, shard.Region))
		w.report.Duration = time.Since(w.started)
		return w.report
	}
	n := &narrowed{c: c, ctx: ctx, w: w, scope: scope, applicable: applicable,
		reads: map[string]*readResult{}, candidates: map[entity.Ref]bool{}}

	for _, id := range scope.Resources {
		n.read(id)
	}
	for _, id := range scope.Entities {
		n.addCandidates(id)
	}
	if len(scope.Resources) == 0 {
		// A delete that names only an identifier: the seed's rules send the
		// Cloud Control identifier (a function's name) while the config may
		// name its entities otherwise (by ARN). The entity meant is then the
		// one that mapping gives that resource, built from the identifier.
		for _, id := range scope.Entities {
			n.addDerivedCandidates(id)
		}
	}
	// Candidates whose mappings name them by the Cloud Control identifier are
	// proven (or not) by reading that identifier; read those not read yet.
	proofs := map[entity.Ref][]string{}
	for _, ref := range n.sortedCandidates() {
		if n.isDesired(ref) {
			continue
		}
		if ids, ok := n.directIDs(ref); ok {
			proofs[ref] = ids
			for _, id := range ids {
				n.read(id)
			}
		}
	}

	// One target call for the scope's few entities, not the full sync's
	// upserter and its write slots: the events batch shares bulk requests
	// across scopes in its own target (dispatch), whose shared write waits for
	// every worker of the batch, so a slot held here while waiting there
	// would deadlock workers waiting for a slot.
	if len(n.produced) > 0 {
		for _, res := range c.parts.Target.Upsert(ctx, shard, n.produced) {
			if res.Err != nil {
				w.report.Failed++
				w.fail(fmt.Errorf("upsert %s: %w", res.Ref, res.Err))
				log.Error("upsert failed", "entity", res.Ref.String(), "error", res.Err)
				continue
			}
			w.report.Upserted++
		}
	}
	w.report.Entities = n.produced

	var stale []entity.Ref
	for _, ref := range n.sortedCandidates() {
		if !n.isDesired(ref) {
			stale = append(stale, ref)
		}
	}
	proven := map[entity.Ref]bool{}
	var owned []entity.Ref
	if len(stale) > 0 && len(w.report.Errors) == 0 {
		var err error
		if owned, err = c.parts.Target.OwnedAmong(ctx, shard, stale); err != nil {
			w.fail(fmt.Errorf("check ownership: %w", err))
		}
		// Only what the policy would delete needs a proof: a candidate that
		// is not ours (the seed's guess of an entity name, say) costs no
		// listing. (Its direct read, above, was made anyway: it is how a
		// "delete" of a resource that still exists refreshes its entity.)
		would := plan.Calculate(plan.Input{Desired: nil, Owned: owned, Candidates: stale, Narrowed: true}, c.settings.Policy)
		for _, ref := range would.Deletes {
			ok, why := n.prove(ref, proofs)
			proven[ref] = ok
			if why != "" {
				w.note(why)
			}
		}
	}
	desired := make([]entity.Ref, 0, len(w.desired))
	for ref := range w.desired {
		desired = append(desired, ref)
	}
	p := plan.Calculate(plan.Input{
		Desired:    desired,
		Owned:      owned,
		Candidates: stale,
		Narrowed:   true,
		Problems:   w.report.Errors,
		Proven:     func(r entity.Ref) bool { return proven[r] },
	}, c.settings.Policy, c.guards...)
	if len(stale) > 0 && len(owned) < len(stale) {
		ownedSet := map[entity.Ref]bool{}
		for _, r := range owned {
			ownedSet[r] = true
		}
		for _, r := range stale {
			if !ownedSet[r] && !slices.Contains(p.Deletes, r) {
				w.note(fmt.Sprintf("%s is not deleted: this exporter did not write it for %s (policy sync-unowned would)", r, shard))
			}
		}
	}
	c.apply(ctx, w, p, log)
	w.report.Duration = time.Since(w.started)
	return w.report
}

// narrowed is the state of one narrowed reconcile.
type narrowed struct {
	c          *Controller
	ctx        context.Context
	w          *shardWork
	scope      Scope
	applicable []*mapping.Resource

	reads      map[string]*readResult
	produced   []entity.Entity
	candidates map[entity.Ref]bool
}

// readResult is what reading one Cloud Control identifier showed.
type readResult struct {
	found bool
	err   error
	// produces are the entities the found resource maps to now.
	produces map[entity.Ref]bool
}

// read reads one resource once: a found resource's entities are desired (and
// upserted), the entities of entries whose selector now rejects it become
// candidates, and an error is a problem of the scope (no deletion then).
func (n *narrowed) read(id string) *readResult {
	if r, ok := n.reads[id]; ok {
		return r
	}
	r := &readResult{produces: map[entity.Ref]bool{}}
	n.reads[id] = r
	shard := n.scope.Shard
	res, err := n.c.parts.Source.Get(n.ctx, shard, id)
	read := Read{Identifier: id}
	switch {
	case err == nil:
		r.found, read.Found = true, true
		n.w.report.Listed++
		for _, e := range n.applicable {
			result, err := e.Map(n.ctx, res)
			if err != nil {
				n.w.fail(err)
				n.w.report.Failed++
			}
			if !result.Selected {
				if err != nil {
					continue
				}
				// The selector rejects it now: the entities it would map to
				// are read from AWS's document, not taken from a message.
				refs, err := e.Identify(n.ctx, res)
				if err != nil {
					n.w.fail(err)
				}
				for _, ref := range refs {
					n.candidates[ref] = true
				}
				continue
			}
			read.Selected = true
			for _, ent := range result.Entities {
				ref := ent.Ref()
				r.produces[ref] = true
				if _, dup := n.w.desired[ref]; dup {
					n.w.report.Duplicates++
					continue
				}
				n.w.desired[ref] = struct{}{}
				n.produced = append(n.produced, ent)
				n.w.report.Mapped++
				n.w.report.Upserts[ent.Blueprint]++
			}
		}
		if !read.Selected {
			n.w.report.Skipped++
			n.w.note(fmt.Sprintf("%s %q exists, and the selector rejects it now", shard.Kind, id))
		}
	case errors.Is(err, source.ErrNotFound):
		n.w.note(fmt.Sprintf("%s %q is gone from Cloud Control in %s", shard.Kind, id, shard.Region))
	default:
		r.err, read.Err = err, err
		n.w.fail(fmt.Errorf("get %s %q in %s: %w", shard.Kind, id, shard.Region, err))
	}
	n.w.report.Reads = append(n.w.report.Reads, read)
	return r
}

// addCandidates makes entity id a candidate in every blueprint the
// applicable entries write to.
func (n *narrowed) addCandidates(id string) {
	if err := entity.ValidateIdentifier(id); err != nil {
		// Port could never have stored an entity under this identifier.
		n.w.note(fmt.Sprintf("nothing to delete for %q: %v", id, err))
		return
	}
	for _, bp := range n.blueprints() {
		n.candidates[entity.Ref{Blueprint: bp, Identifier: id}] = true
	}
}

// addDerivedCandidates adds, for each mapping that names entities by
// something other than the Cloud Control identifier but that
// internal/identity can build from it (an ARN, a name inside the
// identifier), the entity that mapping gives the resource ccID. No search:
// the candidate is built, then the plan's ownership check and AWS's proof
// decide as for any candidate. ccID comes from a message: EntityID builds
// only identifiers that lead back to it exactly, so a hostile value names
// no entity or one whose resource the proof then reads.
func (n *narrowed) addDerivedCandidates(ccID string) {
	shard := n.scope.Shard
	for _, e := range n.applicable {
		for _, m := range e.Identities() {
			if m.Blueprint == "" || m.Items {
				continue
			}
			d, ok := identity.Direct(shard.Kind, m.Identifier)
			if !ok || identity.NamesByCloudControlID(d) {
				continue
			}
			if id, ok := identity.EntityID(d, ccID, shard.Region, shard.AccountID); ok && entity.ValidateIdentifier(id) == nil {
				n.candidates[entity.Ref{Blueprint: m.Blueprint, Identifier: id}] = true
			}
		}
	}
}

func (n *narrowed) blueprints() []string {
	var out []string
	for _, e := range n.applicable {
		static, ok := e.StaticBlueprints()
		if !ok {
			n.w.note("a config entry computes its blueprint from the resource: its entity cannot be found without the resource and is left to the next full sync")
		}
		for _, bp := range static {
			if !slices.Contains(out, bp) {
				out = append(out, bp)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (n *narrowed) isDesired(ref entity.Ref) bool {
	_, ok := n.w.desired[ref]
	return ok
}

func (n *narrowed) sortedCandidates() []entity.Ref {
	out := make([]entity.Ref, 0, len(n.candidates))
	for ref := range n.candidates {
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// directIDs returns the Cloud Control identifiers whose reads prove whether
// ref is gone, when every applicable mapping into ref's blueprint names its
// entities in a form internal/identity vouches for; false when any mapping
// needs a listing instead.
func (n *narrowed) directIDs(ref entity.Ref) ([]string, bool) {
	shard := n.scope.Shard
	var ids []string
	for _, e := range n.applicable {
		for _, m := range e.Identities() {
			if m.Blueprint != "" && m.Blueprint != ref.Blueprint {
				continue // cannot produce an entity of ref's blueprint
			}
			if m.Blueprint == "" || m.Items {
				return nil, false
			}
			d, ok := identity.Direct(shard.Kind, m.Identifier)
			if !ok {
				return nil, false
			}
			id, ok := d.CloudControlID(ref.Identifier, shard.Region, shard.AccountID)
			if !ok {
				return nil, false
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, len(ids) > 0
}

// prove reports whether AWS has shown that no resource of the shard maps to
// ref now, and a note saying how (or why not).
func (n *narrowed) prove(ref entity.Ref, direct map[entity.Ref][]string) (bool, string) {
	if ids, ok := direct[ref]; ok {
		for _, id := range ids {
			r := n.reads[id]
			switch {
			case r == nil || r.err != nil:
				return false, ""
			case r.found && r.produces[ref]:
				return false, ""
			}
		}
		return true, fmt.Sprintf("%s: no resource maps to it (read %v)", ref, ids)
	}
	listed, err := n.c.shared.proofs.listing(n.ctx, n.c, n.scope.Shard, n.applicable, n.scope.NotBefore)
	if err != nil {
		n.w.fail(fmt.Errorf("list %s to prove that %s is gone: %w", n.scope.Shard, ref, err))
		return false, ""
	}
	if listed[ref] {
		return false, fmt.Sprintf("%s is kept: a listing of %s still produces it", ref, n.scope.Shard)
	}
	return true, fmt.Sprintf("%s: no resource of a fresh listing of %s maps to it", ref, n.scope.Shard)
}

// Keys name what a narrowed scope reads and may write, so that callers can
// keep two reconciles of one resource from overlapping. An entity whose
// mappings trace it back to one Cloud Control identifier (internal/identity)
// is keyed by that identifier too: a message naming a function by name and
// one naming its entity by ARN share a key.
func (c *Controller) Keys(s Scope) []string {
	prefix := s.Shard.AccountID + "/" + s.Shard.Region + "/" + s.Shard.Kind + "\x00"
	keys := make([]string, 0, 2*(len(s.Resources)+len(s.Entities)))
	for _, r := range s.Resources {
		keys = append(keys, prefix+"r\x00"+r)
	}
	applicable := c.applicable(s.Shard)
	for _, e := range s.Entities {
		keys = append(keys, prefix+"e\x00"+e)
		for _, entry := range applicable {
			for _, m := range entry.Identities() {
				if d, ok := identity.Direct(s.Shard.Kind, m.Identifier); ok && !m.Items {
					if id, ok := d.CloudControlID(e, s.Shard.Region, s.Shard.AccountID); ok {
						keys = append(keys, prefix+"r\x00"+id)
					}
				}
			}
		}
	}
	return keys
}
