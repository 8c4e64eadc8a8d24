package ruletest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/identity"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// ExporterPlan is what the exporter's one reconcile path decides for a
// decision, offline, in one of two worlds: the resource the message names
// still exists in AWS ("found"), or it is gone ("gone"). It is the real
// plan, computed by internal/controller with the same scope dispatch gives a
// queue message, against an AWS that answers only that, and a Port in which
// this exporter wrote every entity the message names (so what it shows is
// the most an event could delete).
type ExporterPlan struct {
	Case     string   `json:"case"`
	Reads    []string `json:"reads,omitempty"`
	Upserts  []string `json:"upserts,omitempty"`
	Deletes  []string `json:"deletes,omitempty"`
	Withheld []string `json:"withheld,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Ignored: the config does not sync the kind in the decision's region.
	Ignored bool `json:"ignored,omitempty"`
}

// exporterPlans runs the decision through the reconcile path for the found
// and the gone case.
func (s *Suite) exporterPlans(ctx context.Context, d events.Decision, account string) ([]ExporterPlan, []string) {
	var warnings []string
	if len(s.opts.Mapper.ForKind(d.ResourceType)) == 0 {
		return nil, []string{fmt.Sprintf("config.json has no entry of kind %s: the exporter rejects the message (unknown resource type)", d.ResourceType)}
	}
	if account == "" {
		account = "123456789012"
	}
	region := s.opts.DefaultRegion
	if region == "" {
		region = d.Region
	}
	var plans []ExporterPlan
	// reached are the entities the gone case deletes or withholds: what a
	// message about the resource can reach once it is gone.
	reached := map[string]bool{}
	for _, found := range []bool{true, false} {
		src := &offlineAWS{found: found}
		c, err := controller.New(controller.Parts{
			Mapper: s.opts.Mapper, Source: src, Target: &target.DryRun{Registry: ownsEverything{}},
			AccountID: account, DefaultRegion: region, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, controller.Settings{Concurrency: 1, WriteConcurrency: 1, Policy: plan.Sync{}, MaxDeleteShare: 1})
		if err != nil {
			return nil, append(warnings, err.Error())
		}
		r := c.Reconcile(ctx, dispatch.ScopeOf(c, d, time.Now()))
		p := ExporterPlan{Case: "gone", Notes: r.Notes, Ignored: r.Ignored}
		if r.Ignored {
			// Nothing is read or written, found or gone: one plan says so.
			p.Notes = nil
			return []ExporterPlan{p}, append(warnings, r.Notes...)
		}
		if found {
			p.Case = "found"
		}
		for _, rd := range r.Reads {
			state := "not found"
			if rd.Found {
				state = "found"
				if !rd.Selected {
					state = "found, rejected by the selector"
				}
			}
			p.Reads = append(p.Reads, fmt.Sprintf("%q (%s)", rd.Identifier, state))
		}
		if src.listed {
			p.Reads = append(p.Reads, "a listing of the shard (to prove a deletion)")
		}
		for _, e := range r.Entities {
			p.Upserts = append(p.Upserts, e.Ref().String())
		}
		for _, ref := range r.Plan.Deletes {
			p.Deletes = append(p.Deletes, ref.String())
			if !found {
				reached[ref.String()] = true
			}
		}
		for _, w := range r.Withheld {
			p.Withheld = append(p.Withheld, w.Ref.String()+": "+w.Reason)
			if !found {
				reached[w.Ref.String()] = true
			}
		}
		for _, err := range r.Errors {
			p.Errors = append(p.Errors, err.Error())
		}
		plans = append(plans, p)
	}
	if w := mismatch(plans, reached); w != "" {
		warnings = append(warnings, w)
	}
	return plans, warnings
}

// identifierAgreement reads, for a delete that names only an identifier
// (as the seed's rules send, which the exporter takes for the Cloud Control
// identifier), how the config's mappings name the kind's entities: by that
// identifier (they agree), by a property internal/identity leads back to it
// (an ARN: the exporter builds the entity's identifier, a note), or
// by an expression it cannot (no deletion event ever reaches the entity: a
// warning with the fix).
func (s *Suite) identifierAgreement(d events.Decision) (notes, warnings []string) {
	notes, problems := s.identifierProblems(d)
	for _, p := range problems {
		warnings = append(warnings, p.Message+"; "+p.Fix)
	}
	return notes, warnings
}

// identifierProblem is a delete that can reach no entity, and its fix.
type identifierProblem struct {
	Message, Fix string
}

func (s *Suite) identifierProblems(d events.Decision) (notes []string, problems []identifierProblem) {
	if s.opts.Mapper == nil || d.Action != events.ActionDelete || d.EntityIdentifier != "" || d.ResourceIdentifier != "" {
		return nil, nil
	}
	primary := identity.PrimaryIdentifier(d.ResourceType)
	for _, e := range s.opts.Mapper.ForKind(d.ResourceType) {
		for _, m := range e.Identities() {
			if m.Blueprint == "" || m.Items {
				continue
			}
			dv, direct := identity.Direct(d.ResourceType, m.Identifier)
			switch {
			case direct && identity.NamesByCloudControlID(dv):
			case direct:
				notes = append(notes, fmt.Sprintf("the rule names the deleted resource only by identifier (%s's Cloud Control identifier) and the config names %s entities by %s: "+
					"the exporter builds the entity identifier from it (internal/identity) and deletes that entity once AWS proves the resource gone; "+
					"the library's rules (rules generate) send entity_identifier themselves", d.ResourceType, m.Blueprint, m.Identifier))
			default:
				fix := "map the identifier to the Cloud Control identifier"
				if primary != "" {
					fix = "map the identifier to ." + primary
				}
				names := "the resource by its identifier"
				if d.Identifier != "" {
					names = fmt.Sprintf("%q", d.Identifier)
				}
				problems = append(problems, identifierProblem{
					Message: fmt.Sprintf("a delete names %s, which the exporter reads as %s's Cloud Control identifier, but the config names %s entities by %s, "+
						"which it cannot lead back to one: this rule's deletion events reach no entity, which goes only at the next full sync",
						names, d.ResourceType, m.Blueprint, m.Identifier),
					Fix: fix + " (or to a property internal/identity knows, such as the ARN), or use the library's rule (rules generate), which sends entity_identifier",
				})
			}
		}
	}
	return notes, problems
}

// mismatch warns when the entity a found resource maps to is not among what
// the message deletes once the resource is gone: the rule's delete identifier
// and the config's entity identifier name the entity differently (a name
// against an ARN), so every deletion event would be a silent no-op.
func mismatch(plans []ExporterPlan, reached map[string]bool) string {
	if len(plans) != 2 || len(plans[0].Upserts) == 0 {
		return ""
	}
	for _, u := range plans[0].Upserts {
		if reached[u] {
			return ""
		}
	}
	return fmt.Sprintf("the entity this resource maps to (%s) is not what a message about it deletes once it is gone (%s): "+
		"the rule's identifier for a deletion and the config's entity identifier name it differently (name or ARN?); "+
		"make the rule's entity_identifier (or a delete's identifier) produce the config's identifier, or change the config's",
		strings.Join(plans[0].Upserts, ", "), orNothing(plans[1].Deletes))
}

func orNothing(refs []string) string {
	if len(refs) == 0 {
		return "nothing"
	}
	return strings.Join(refs, ", ")
}

// Summary is the plan in one line.
func (p ExporterPlan) Summary() string {
	if p.Ignored {
		return p.Case + ": ignored (the config does not sync this region)"
	}
	s := p.Case + ":"
	add := func(label string, items []string) {
		if len(items) > 0 {
			s += " " + label + " " + strings.Join(items, ", ") + ";"
		}
	}
	add("read", p.Reads)
	add("upsert", p.Upserts)
	add("delete", p.Deletes)
	add("keep", p.Withheld)
	add("error", p.Errors)
	if len(p.Upserts)+len(p.Deletes)+len(p.Withheld) == 0 {
		s += " no change;"
	}
	return s[:len(s)-1]
}

// offlineAWS answers reads as the case says. Found: the first identifier
// read (the resource the message is about) exists, as a document holding its
// primary identifier and, for kinds known by ARN, its ARN (all an offline
// test knows of it), and any other
// identifier does not; gone: nothing exists. A listing is empty.
type offlineAWS struct {
	found  bool
	first  string
	listed bool
}

func (a *offlineAWS) Get(_ context.Context, shard source.Shard, id string) (source.Resource, error) {
	region, kind := shard.Region, shard.Kind
	if a.first == "" {
		a.first = id
	}
	if !a.found || id != a.first {
		return source.Resource{}, fmt.Errorf("offline: %w", source.ErrNotFound)
	}
	props := identity.Properties(kind, id, region, shard.AccountID)
	return source.Resource{Region: region, Kind: kind, Identifier: id, Properties: props}, nil
}

func (a *offlineAWS) List(_ context.Context, _ source.Shard, _ source.ListOptions, _ func(source.Resource) error) error {
	// Found or not, the listing cannot know the rest of the account: it is
	// empty, and a listing proof is shown as such.
	a.listed = true
	return nil
}

// ownsEverything is a registry in which this exporter wrote every entity
// asked about.
type ownsEverything struct{}

func (ownsEverything) Owned(context.Context, source.Shard, []string) ([]entity.Ref, error) {
	return nil, nil
}

func (ownsEverything) OwnedAmong(_ context.Context, _ source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	return refs, nil
}
