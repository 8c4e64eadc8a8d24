package registry

import (
	"context"
	"fmt"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Searcher is the part of the Port client the registry needs.
type Searcher interface {
	SearchEntities(ctx context.Context, blueprint string, q port.Query) ([]entity.Entity, error)
}

// Port finds owned entities with a $datasource search in each blueprint.
type Port struct {
	Client Searcher
}

// Owned returns the entities of the blueprints whose $datasource carries the
// owner's token. A blueprint that does not exist owns nothing.
func (p Port) Owned(ctx context.Context, owner source.Shard, blueprints []string) ([]entity.Ref, error) {
	var refs []entity.Ref
	for _, bp := range blueprints {
		ents, err := p.Client.SearchEntities(ctx, bp, OwnedQuery(owner))
		if err != nil {
			if port.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("search entities owned by %s in blueprint %s: %w", owner, bp, err)
		}
		for _, e := range ents {
			refs = append(refs, entity.Ref{Blueprint: bp, Identifier: e.Identifier})
		}
	}
	return refs, nil
}

// OwnedQuery is the search for an owner's entities in one blueprint.
func OwnedQuery(owner source.Shard) port.Query {
	return port.Query{
		Combinator: "and",
		Rules:      []port.Rule{{Property: "$datasource", Operator: "contains", Value: Token(owner)}},
		Include:    []string{"$identifier"},
	}
}

// OwnedAmong returns those of refs whose $datasource carries the shard's
// token: one search per blueprint, on the identifiers and the token together,
// so the answer never depends on anything but Port's record of who wrote them.
func (p Port) OwnedAmong(ctx context.Context, owner source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	byBlueprint := map[string][]any{}
	var order []string
	for _, r := range refs {
		if _, seen := byBlueprint[r.Blueprint]; !seen {
			order = append(order, r.Blueprint)
		}
		byBlueprint[r.Blueprint] = append(byBlueprint[r.Blueprint], r.Identifier)
	}
	var out []entity.Ref
	for _, bp := range order {
		q := OwnedQuery(owner)
		q.Rules = append(q.Rules, port.Rule{Property: "$identifier", Operator: "in", Value: byBlueprint[bp]})
		ents, err := p.Client.SearchEntities(ctx, bp, q)
		if err != nil {
			if port.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("check which of %d entities in blueprint %s are owned by %s: %w", len(byBlueprint[bp]), bp, owner, err)
		}
		for _, e := range ents {
			out = append(out, entity.Ref{Blueprint: bp, Identifier: e.Identifier})
		}
	}
	return out, nil
}

// OwnedEntities returns the whole entities of a blueprint whose $datasource
// carries the owner's token: the same one search as Owned, answered with
// the entities' bodies (no include list) so that what a run writes can be
// compared with what Port holds at no extra request. A blueprint that does
// not exist owns nothing.
func (p Port) OwnedEntities(ctx context.Context, owner source.Shard, blueprint string) ([]entity.Entity, error) {
	q := OwnedQuery(owner)
	q.Include = nil
	ents, err := p.Client.SearchEntities(ctx, blueprint, q)
	if err != nil {
		if port.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("search entities owned by %s in blueprint %s: %w", owner, blueprint, err)
	}
	return ents, nil
}
