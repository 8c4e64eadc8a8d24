package target

import (
	"context"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Port writes to Port, each shard with its own User-Agent so that Port records
// the shard as the entity's $datasource (see internal/registry).
type Port struct {
	Client        *port.Client
	Registry      registry.Registry
	UpsertOptions port.UpsertOptions
	DeleteOptions port.DeleteOptions
}

// NewPort builds a Port target whose registry searches with the same client.
func NewPort(client *port.Client, upsert port.UpsertOptions, del port.DeleteOptions) *Port {
	return &Port{Client: client, Registry: registry.Port{Client: client}, UpsertOptions: upsert, DeleteOptions: del}
}

func (p *Port) Owned(ctx context.Context, owner source.Shard, blueprints []string) ([]entity.Ref, error) {
	return p.Registry.Owned(ctx, owner, blueprints)
}

func (p *Port) OwnedAmong(ctx context.Context, owner source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	return p.Registry.OwnedAmong(ctx, owner, refs)
}

func (p *Port) Upsert(ctx context.Context, owner source.Shard, ents []entity.Entity) []controller.WriteResult {
	client := p.Client.WithUserAgent(registry.UserAgent(owner))
	out := make([]controller.WriteResult, 0, len(ents))
	for _, group := range groupByBlueprint(ents) {
		for _, r := range client.UpsertEntities(ctx, group.blueprint, group.entities, p.UpsertOptions) {
			out = append(out, controller.WriteResult{Ref: r.Ref, Err: r.Err})
		}
	}
	return out
}

func (p *Port) Delete(ctx context.Context, owner source.Shard, refs []entity.Ref) []controller.WriteResult {
	client := p.Client.WithUserAgent(registry.UserAgent(owner))
	ids := map[string][]string{}
	var order []string
	for _, r := range refs {
		if _, seen := ids[r.Blueprint]; !seen {
			order = append(order, r.Blueprint)
		}
		ids[r.Blueprint] = append(ids[r.Blueprint], r.Identifier)
	}
	out := make([]controller.WriteResult, 0, len(refs))
	for _, bp := range order {
		for _, r := range client.DeleteEntities(ctx, bp, ids[bp], p.DeleteOptions) {
			out = append(out, controller.WriteResult{Ref: r.Ref, Err: r.Err})
		}
	}
	return out
}

type blueprintGroup struct {
	blueprint string
	entities  []entity.Entity
}

// groupByBlueprint splits entities by blueprint, keeping first-seen order,
// since Port's bulk route takes one blueprint per request.
func groupByBlueprint(ents []entity.Entity) []blueprintGroup {
	index := map[string]int{}
	var groups []blueprintGroup
	for _, e := range ents {
		i, ok := index[e.Blueprint]
		if !ok {
			i = len(groups)
			index[e.Blueprint] = i
			groups = append(groups, blueprintGroup{blueprint: e.Blueprint})
		}
		groups[i].entities = append(groups[i].entities, e)
	}
	return groups
}
