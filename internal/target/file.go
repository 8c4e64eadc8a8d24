// Package target holds where a sync writes entities: Port itself, or a JSON
// Lines file for inspection and for pipelines that need no Port credentials.
package target

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// JSONLines writes one entity per line. It owns nothing, so a sync into a file
// never plans deletions.
type JSONLines struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewJSONLines writes to w; call Flush when the sync is done.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: bufio.NewWriter(w)} }

// Line is one record of the file: the entity and the shard that produced it.
type Line struct {
	entity.Entity
	Datasource string `json:"datasource"`
}

func (j *JSONLines) Owned(context.Context, source.Shard, []string) ([]entity.Ref, error) {
	return nil, nil
}

func (j *JSONLines) OwnedAmong(context.Context, source.Shard, []entity.Ref) ([]entity.Ref, error) {
	return nil, nil
}

func (j *JSONLines) Upsert(_ context.Context, owner source.Shard, ents []entity.Entity) []controller.WriteResult {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]controller.WriteResult, len(ents))
	for i, e := range ents {
		out[i].Ref = e.Ref()
		b, err := json.Marshal(Line{Entity: e, Datasource: registry.UserAgent(owner)})
		if err != nil {
			out[i].Err = fmt.Errorf("encode entity: %w", err)
			continue
		}
		if _, err := j.w.Write(append(b, '\n')); err != nil {
			out[i].Err = fmt.Errorf("write entity: %w", err)
		}
	}
	return out
}

func (j *JSONLines) Delete(_ context.Context, _ source.Shard, refs []entity.Ref) []controller.WriteResult {
	return failAll(refs, errors.New("a file target cannot delete"))
}

// Flush writes buffered lines.
func (j *JSONLines) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

// DryRun records what a reconcile would write and writes nothing. Its
// registry answers are real when it has one (a dry run with Port credentials
// plans the deletions a real run would make) and empty otherwise (the plan
// then shows upserts only). Every dry run goes through this one target, so it
// runs exactly the code a real run does.
type DryRun struct {
	// Registry answers ownership questions; nil owns nothing.
	Registry registry.Registry

	mu       sync.Mutex
	upserted []entity.Ref
	deleted  []entity.Ref
}

func (d *DryRun) Owned(ctx context.Context, shard source.Shard, blueprints []string) ([]entity.Ref, error) {
	if d.Registry == nil {
		return nil, nil
	}
	return d.Registry.Owned(ctx, shard, blueprints)
}

func (d *DryRun) OwnedAmong(ctx context.Context, shard source.Shard, refs []entity.Ref) ([]entity.Ref, error) {
	if d.Registry == nil {
		return nil, nil
	}
	return d.Registry.OwnedAmong(ctx, shard, refs)
}

func (d *DryRun) Upsert(_ context.Context, _ source.Shard, ents []entity.Entity) []controller.WriteResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]controller.WriteResult, len(ents))
	for i, e := range ents {
		out[i] = controller.WriteResult{Ref: e.Ref()}
		d.upserted = append(d.upserted, e.Ref())
	}
	return out
}

func (d *DryRun) Delete(_ context.Context, _ source.Shard, refs []entity.Ref) []controller.WriteResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]controller.WriteResult, len(refs))
	for i, r := range refs {
		out[i] = controller.WriteResult{Ref: r}
		d.deleted = append(d.deleted, r)
	}
	return out
}

// Recorded returns what would have been upserted and deleted, in call order.
func (d *DryRun) Recorded() (upserted, deleted []entity.Ref) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]entity.Ref(nil), d.upserted...), append([]entity.Ref(nil), d.deleted...)
}

// failAll is the answer of a target that cannot do what it is asked.
func failAll(refs []entity.Ref, err error) []controller.WriteResult {
	out := make([]controller.WriteResult, len(refs))
	for i, r := range refs {
		out[i] = controller.WriteResult{Ref: r, Err: err}
	}
	return out
}
