package registry

import (
	"context"
	"fmt"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
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
func (p Port) Owned(ctx context.Context, owner Owner, blueprints []string) ([]entity.Ref, error) {
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
func OwnedQuery(owner Owner) port.Query {
	return port.Query{
		Combinator: "and",
		Rules:      []port.Rule{{Property: "$datasource", Operator: "contains", Value: owner.Token()}},
		Include:    []string{"$identifier"},
	}
}
