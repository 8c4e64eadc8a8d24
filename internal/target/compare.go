package target

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Change says how an upserted entity relates to what Port held before the run.
type Change int

const (
	// Unknown: Port's entities could not be read (the search failed).
	Unknown Change = iota
	// New: the shard owned no entity with that identifier (it may have
	// existed, written by someone else: the upsert takes it over).
	New
	// Changed: the shard owned it, and some field written differs.
	Changed
	// Unchanged: every field written has the value Port holds.
	Unchanged
)

func (c Change) String() string {
	switch c {
	case New:
		return "new"
	case Changed:
		return "changed"
	case Unchanged:
		return "unchanged"
	}
	return "unknown"
}

// EntityChange is one compared upsert: what it is, and for Changed which
// fields ("title", "icon", "team", "properties.x", "relations.y").
type EntityChange struct {
	Ref    entity.Ref
	Change Change
	Fields []string
}

// Comparison counts a shard's successful upserts by Change.
type Comparison struct {
	New, Changed, Unchanged, Unknown int
}

// Snapshotter reads the entities a shard owns in a blueprint, with their
// bodies (registry.Port).
type Snapshotter interface {
	OwnedEntities(ctx context.Context, owner source.Shard, blueprint string) ([]entity.Entity, error)
}

// Comparing wraps the target of one full sync (Port, or a dry run with
// Port's registry) and compares every upsert with the entity the shard
// owned before: new, changed (which fields) or unchanged. It costs no Port
// request: the ownership search of each (shard, blueprint), which the sync
// makes anyway, returns the entities' bodies and answers both Owned and the
// comparison. Each (shard, blueprint) is searched once, and a shard's
// upserts into a blueprint wait for that search, so it sees Port as it was
// before the shard wrote. Entities written after the search are desired
// ones, which a full sync never deletes: answering Owned from the same
// search is as safe as the controller's early search. One Comparing serves
// one run: it keeps what it read until it is dropped.
type Comparing struct {
	Target      controller.Target
	Snapshotter Snapshotter
	// Record keeps every EntityChange, for a dry run's listing.
	Record bool

	mu      sync.Mutex
	snaps   map[snapKey]*snapshot
	counts  map[string]*Comparison
	changes map[string][]EntityChange
}

type snapKey struct {
	shard     string
	blueprint string
}

type snapshot struct {
	done     chan struct{}
	entities map[string]entity.Entity
	err      error
}

// NewComparing wraps t; s reads the owned entities.
func NewComparing(t controller.Target, s Snapshotter, record bool) *Comparing {
	return &Comparing{Target: t, Snapshotter: s, Record: record,
		snaps: map[snapKey]*snapshot{}, counts: map[string]*Comparison{}, changes: map[string][]EntityChange{}}
}

// snapshot returns the (shard, blueprint) search, started by the first caller
// and waited for by the others.
func (c *Comparing) snapshot(ctx context.Context, shard source.Shard, blueprint string) *snapshot {
	key := snapKey{shard.String(), blueprint}
	c.mu.Lock()
	s, started := c.snaps[key]
	if !started {
		s = &snapshot{done: make(chan struct{})}
		c.snaps[key] = s
	}
	c.mu.Unlock()
	if !started {
		ents, err := c.Snapshotter.OwnedEntities(ctx, shard, blueprint)
		s.entities, s.err = make(map[string]entity.Entity, len(ents)), err
		for _, e := range ents {
			e.Blueprint = blueprint
			s.entities[e.Identifier] = e
		}
		close(s.done)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return &snapshot{err: ctx.Err()}
	}
	return s
}

func (c *Comparing) Owned(ctx context.Context, shard source.Shard, blueprints []string) ([]entity.Ref, error) {
	var refs []entity.Ref
	for _, bp := range blueprints {
		s := c.snapshot(ctx, shard, bp)
		if s.err != nil {
			return nil, s.err
		}
		ids := make([]string, 0, len(s.entities))
		for id := range s.entities {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			refs = append(refs, entity.Ref{Blueprint: bp, Identifier: id})
		}
	}
	return refs, nil
}

func (c *Comparing) OwnedAmong(ctx context.Context, shard source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	return c.Target.OwnedAmong(ctx, shard, refs)
}

func (c *Comparing) Upsert(ctx context.Context, shard source.Shard, ents []entity.Entity) []controller.WriteResult {
	compared := make([]EntityChange, len(ents))
	for i, e := range ents {
		compared[i] = EntityChange{Ref: e.Ref()}
		s := c.snapshot(ctx, shard, e.Blueprint)
		if s.err != nil {
			continue // Unknown: the ownership search reports the error
		}
		have, owned := s.entities[e.Identifier]
		if !owned {
			compared[i].Change = New
			continue
		}
		if fields := Diff(e, have); len(fields) > 0 {
			compared[i].Change, compared[i].Fields = Changed, fields
		} else {
			compared[i].Change = Unchanged
		}
	}
	results := c.Target.Upsert(ctx, shard, ents)
	c.mu.Lock()
	defer c.mu.Unlock()
	key := shard.String()
	n := c.counts[key]
	if n == nil {
		n = &Comparison{}
		c.counts[key] = n
	}
	for i, res := range results {
		if res.Err != nil || i >= len(compared) {
			continue
		}
		switch compared[i].Change {
		case New:
			n.New++
		case Changed:
			n.Changed++
		case Unchanged:
			n.Unchanged++
		default:
			n.Unknown++
		}
		if c.Record {
			c.changes[key] = append(c.changes[key], compared[i])
		}
	}
	return results
}

func (c *Comparing) Delete(ctx context.Context, shard source.Shard, refs []entity.Ref) []controller.WriteResult {
	return c.Target.Delete(ctx, shard, refs)
}

// Counts are the shard's compared upserts so far.
func (c *Comparing) Counts(shard source.Shard) Comparison {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.counts[shard.String()]; n != nil {
		return *n
	}
	return Comparison{}
}

// Changes are the shard's compared upserts (with Record), sorted by entity.
func (c *Comparing) Changes(shard source.Shard) []EntityChange {
	c.mu.Lock()
	out := slices.Clone(c.changes[shard.String()])
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out
}

// Diff names the fields of want (what an upsert with merge=true writes)
// whose value differs from have (what Port holds): title, icon and team
// when written, and each written property and relation. A null written
// where Port has nothing is no change; numbers compare as JSON numbers.
func Diff(want, have entity.Entity) []string {
	var fields []string
	if want.Title != "" && want.Title != have.Title {
		fields = append(fields, "title")
	}
	if want.Icon != "" && want.Icon != have.Icon {
		fields = append(fields, "icon")
	}
	if want.Team != nil && !sameTeams(want.Team, have.Team) {
		fields = append(fields, "team")
	}
	fields = append(fields, diffValues("properties.", want.Properties, have.Properties)...)
	fields = append(fields, diffValues("relations.", want.Relations, have.Relations)...)
	return fields
}

func diffValues(prefix string, want, have map[string]any) []string {
	var out []string
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w := asJSON(want[k])
		h, present := have[k]
		if w == nil && (!present || h == nil) {
			continue
		}
		if !reflect.DeepEqual(w, asJSON(h)) {
			out = append(out, prefix+k)
		}
	}
	return out
}

// asJSON is v as encoding/json decodes it (float64 numbers, []any, map[string]any).
func asJSON(v any) any {
	switch v.(type) {
	case nil, string, bool, float64:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func sameTeams(want, have any) bool {
	list := func(v any) []string {
		var out []string
		switch t := v.(type) {
		case string:
			out = []string{t}
		case []string:
			out = slices.Clone(t)
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(list(want), list(have))
}
