package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// ResourceGetter reads one resource from Cloud Control (*source.CloudControl).
type ResourceGetter interface {
	Get(ctx context.Context, region, kind, identifier string) (source.Resource, error)
}

// Target writes entities on behalf of an owner; every controller.Target is one.
// An entity already gone counts as deleted.
type Target interface {
	Upsert(ctx context.Context, owner registry.Owner, ents []entity.Entity) []controller.WriteResult
	Delete(ctx context.Context, owner registry.Owner, refs []entity.Ref) []controller.WriteResult
}

// Reconciler brings the entities of one resource in line with what Cloud
// Control says about it now. Reading the current state, rather than trusting
// the event, makes late, duplicated and out-of-order events harmless.
type Reconciler struct {
	Mapper *mapping.Mapper
	Source ResourceGetter
	Target Target
	// AccountID is the account the exporter reads; with the event's region and
	// kind it makes the owner of every write (registry.Owner).
	AccountID string
	// DefaultRegion is used for config entries that name no region.
	DefaultRegion string
	// Search, when set, guards deletes: an entity that another shard of this
	// exporter wrote (same kind, another region or account, e.g. a function
	// of the same name in two regions) is not deleted because of an event in
	// this shard. Entities written by anyone else are deleted as asked, as
	// Port's exporter did.
	Search registry.Searcher
	// DryRun decides and reports without writing.
	DryRun bool
	Logger *slog.Logger
}

// Reconcile handles one decision. The error is nil, permanent (ErrPermanent)
// or transient (anything else); the report says what was decided and done
// even when it is not nil.
func (r *Reconciler) Reconcile(ctx context.Context, d Decision) (*Report, error) {
	report := &Report{Decision: &d, DryRun: r.DryRun}
	if r.Target == nil && !r.DryRun {
		return report, errors.New("reconciler has no target to write to")
	}
	entries := r.Mapper.ForKind(d.ResourceType)
	if len(entries) == 0 {
		return report, permanent(ReasonUnknownResourceType, "no config entry has kind %s", d.ResourceType)
	}
	var applicable []*mapping.Resource
	for _, e := range entries {
		if slices.Contains(e.Regions(r.DefaultRegion), d.Region) {
			applicable = append(applicable, e)
		}
	}
	if len(applicable) == 0 {
		// The full sync does not cover this region either: writing here would
		// create entities no sync owns or cleans up.
		report.note(fmt.Sprintf("ignored: the config does not sync %s in %s", d.ResourceType, d.Region))
		return report, nil
	}
	owner := registry.Owner{AccountID: r.AccountID, Region: d.Region, Kind: d.ResourceType}

	lookup := d.LookupIdentifier()
	res, err := r.Source.Get(ctx, d.Region, d.ResourceType, lookup)
	report.LookedUp = true
	switch {
	case err == nil:
		report.Found = true
		if d.Action == ActionDelete {
			report.note("delete requested, but the resource still exists in Cloud Control: upserted instead")
		}
		return report, r.apply(ctx, owner, applicable, res, report)
	case errors.Is(err, source.ErrNotFound):
		if d.Action == ActionUpsert {
			report.note("upsert requested, but the resource is gone from Cloud Control: its entities are deleted")
		}
		return report, r.deleteIdentifier(ctx, owner, applicable, d.DeleteIdentifier(), report)
	case source.IsTransient(err):
		return report, fmt.Errorf("get %s %q in %s: %w", d.ResourceType, lookup, d.Region, err)
	case d.Action == ActionDelete:
		// A delete without resource_identifier is looked up by its Port entity
		// identifier, which need not be a valid Cloud Control identifier: an
		// answer other than "exists" means delete.
		report.note(fmt.Sprintf("Cloud Control could not look the identifier up (%v): deleted as requested", err))
		return report, r.deleteIdentifier(ctx, owner, applicable, d.DeleteIdentifier(), report)
	default:
		return report, &PermanentError{Reason: ReasonAWSRejected,
			Err: fmt.Errorf("get %s %q in %s: %w", d.ResourceType, lookup, d.Region, err)}
	}
}

// apply maps a resource that exists and writes the result: entities of
// selecting entries are upserted, those of rejecting entries deleted.
func (r *Reconciler) apply(ctx context.Context, owner registry.Owner, entries []*mapping.Resource, res source.Resource, report *Report) error {
	var ents []entity.Entity
	var rejected []*mapping.Resource
	var problems []error
	for _, e := range entries {
		result, err := e.Map(ctx, res)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("map %s %q: %w", res.Kind, res.Identifier, ctx.Err())
			}
			// The mappings that worked are still written; the message then
			// goes to the dead-letter queue for the ones that did not.
			problems = append(problems, err)
		}
		if !result.Selected {
			if err == nil {
				rejected = append(rejected, e)
			}
			continue
		}
		ents = append(ents, result.Entities...)
	}
	var errs []error
	if len(problems) > 0 {
		errs = append(errs, &PermanentError{Reason: ReasonMappingError,
			Err: fmt.Errorf("map %s %q: %w", res.Kind, res.Identifier, errors.Join(problems...))})
	}
	if len(rejected) > 0 {
		report.note("the selector rejects the resource now: its entities are deleted")
		ids := rejectedIdentifiers(report.Decision, res)
		// An entity still produced by another entry is not deleted.
		keep := map[entity.Ref]bool{}
		for _, e := range ents {
			keep[e.Ref()] = true
		}
		var refs []entity.Ref
		for _, ref := range r.refsFor(rejected, ids, report) {
			if !keep[ref] {
				refs = append(refs, ref)
			}
		}
		errs = append(errs, r.delete(ctx, owner, refs, report))
	}
	if len(ents) > 0 {
		report.Upserts = append(report.Upserts, ents...)
		if !r.DryRun {
			errs = append(errs, classifyWrites("upsert", r.Target.Upsert(ctx, owner, ents), report))
		}
	}
	return joinOutcome(errs...)
}

// rejectedIdentifiers names the entities of a resource the selector now
// rejects. Without the mapping's output (a rejected resource is not mapped),
// the message says which: entity_identifier when it has one, which the
// delete's identifier equals; else the Cloud Control identifier and the
// message's identifier, the seed exporter's guesses.
func rejectedIdentifiers(d *Decision, res source.Resource) []string {
	switch {
	case d == nil:
		return []string{res.Identifier}
	case d.EntityIdentifier != "":
		return []string{d.EntityIdentifier}
	case d.Identifier != res.Identifier:
		return []string{res.Identifier, d.Identifier}
	}
	return []string{res.Identifier}
}

// deleteIdentifier deletes entity id from every blueprint the entries map to.
func (r *Reconciler) deleteIdentifier(ctx context.Context, owner registry.Owner, entries []*mapping.Resource, id string, report *Report) error {
	return r.delete(ctx, owner, r.refsFor(entries, []string{id}, report), report)
}

// refsFor lists the entities named ids in the static blueprints of entries.
func (r *Reconciler) refsFor(entries []*mapping.Resource, ids []string, report *Report) []entity.Ref {
	bps := map[string]bool{}
	for _, e := range entries {
		static, ok := e.StaticBlueprints()
		if !ok {
			report.note("a config entry computes its blueprint from the resource: its entity cannot be found without the resource and is left to the next full sync")
		}
		for _, bp := range static {
			bps[bp] = true
		}
	}
	var refs []entity.Ref
	for _, id := range ids {
		if err := entity.ValidateIdentifier(id); err != nil {
			// Port could never have stored an entity under this identifier.
			report.note(fmt.Sprintf("nothing to delete for %q: %v", id, err))
			continue
		}
		for bp := range bps {
			refs = append(refs, entity.Ref{Blueprint: bp, Identifier: id})
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}

func (r *Reconciler) delete(ctx context.Context, owner registry.Owner, refs []entity.Ref, report *Report) error {
	var allowed []entity.Ref
	for _, ref := range refs {
		elsewhere, err := r.ownedElsewhere(ctx, owner, ref)
		if err != nil {
			return err
		}
		if elsewhere {
			report.note(fmt.Sprintf("%s is kept: another region or account of this exporter wrote it, not %s", ref, owner))
			continue
		}
		allowed = append(allowed, ref)
	}
	if len(allowed) == 0 {
		return nil
	}
	report.Deletes = append(report.Deletes, allowed...)
	if r.DryRun {
		return nil
	}
	return classifyWrites("delete", r.Target.Delete(ctx, owner, allowed), report)
}

// schemePrefix starts the $datasource of every entity written under the
// current ownership scheme, whatever its shard.
var schemePrefix = registry.Product + "/" + registry.SchemeVersion + " ("

// ownedElsewhere reports whether ref was written by another shard of this
// exporter: its $datasource carries the scheme but not owner's token.
func (r *Reconciler) ownedElsewhere(ctx context.Context, owner registry.Owner, ref entity.Ref) (bool, error) {
	if r.Search == nil {
		return false, nil
	}
	find := func(datasource string) (bool, error) {
		found, err := r.Search.SearchEntities(ctx, ref.Blueprint, port.Query{
			Combinator: "and",
			Rules: []port.Rule{
				{Property: "$identifier", Operator: "=", Value: ref.Identifier},
				{Property: "$datasource", Operator: "contains", Value: datasource},
			},
			Include: []string{"$identifier"},
		})
		if err != nil && !port.IsNotFound(err) {
			err = fmt.Errorf("check who wrote %s: %w", ref, err)
			if !port.IsTransient(err) {
				err = &PermanentError{Reason: ReasonPortRejected, Err: err}
			}
			return false, err
		}
		return len(found) > 0, nil
	}
	ours, err := find(schemePrefix)
	if err != nil || !ours {
		return false, err
	}
	mine, err := find(owner.Token())
	return !mine, err
}

// classifyWrites turns write results into the outcome's error: transient
// when any failure is transient (the whole message is retried, and the
// writes are idempotent), permanent when all failures are permanent.
func classifyWrites(op string, results []controller.WriteResult, report *Report) error {
	var transient, perm []error
	for _, res := range results {
		if res.Err == nil {
			continue
		}
		err := fmt.Errorf("%s %s: %w", op, res.Ref, res.Err)
		report.Failed = append(report.Failed, err.Error())
		if port.IsTransient(res.Err) || errors.Is(res.Err, errNoWriteResult) {
			transient = append(transient, err)
		} else {
			perm = append(perm, err)
		}
	}
	switch {
	case len(transient) > 0:
		return errors.Join(append(transient, perm...)...)
	case len(perm) > 0:
		return &PermanentError{Reason: ReasonPortRejected, Err: errors.Join(perm...)}
	}
	return nil
}

// joinOutcome combines the errors of several writes: a transient one makes the
// whole outcome transient, since retrying redoes every write anyway.
func joinOutcome(errs ...error) error {
	var all []error
	allPermanent := true
	reason := ""
	for _, err := range errs {
		if err == nil {
			continue
		}
		all = append(all, err)
		if !errors.Is(err, ErrPermanent) {
			allPermanent = false
		} else if reason == "" {
			reason = ReasonOf(err)
		}
	}
	switch {
	case len(all) == 0:
		return nil
	case len(all) == 1:
		return all[0]
	case allPermanent:
		return &PermanentError{Reason: reason, Err: errors.Join(all...)}
	}
	// Strip the permanent marker so that errors.Is(err, ErrPermanent) is false.
	msgs := make([]string, len(all))
	for i, err := range all {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}
