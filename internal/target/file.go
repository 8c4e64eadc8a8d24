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

func (j *JSONLines) Owned(context.Context, registry.Owner, []string) ([]entity.Ref, error) {
	return nil, nil
}

func (j *JSONLines) Upsert(_ context.Context, owner registry.Owner, ents []entity.Entity) []controller.WriteResult {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]controller.WriteResult, len(ents))
	for i, e := range ents {
		out[i].Ref = e.Ref()
		b, err := json.Marshal(Line{Entity: e, Datasource: owner.UserAgent()})
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

func (j *JSONLines) Delete(_ context.Context, _ registry.Owner, refs []entity.Ref) []controller.WriteResult {
	return failAll(refs, errors.New("a file target cannot delete"))
}

// Flush writes buffered lines.
func (j *JSONLines) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

// Nothing owns nothing and writes nothing: the target of a dry run that has no
// Port credentials, whose plan then shows upserts only.
type Nothing struct{}

func (Nothing) Owned(context.Context, registry.Owner, []string) ([]entity.Ref, error) {
	return nil, nil
}

func (Nothing) Upsert(_ context.Context, _ registry.Owner, ents []entity.Entity) []controller.WriteResult {
	refs := make([]entity.Ref, len(ents))
	for i, e := range ents {
		refs[i] = e.Ref()
	}
	return failAll(refs, errNoTarget)
}

func (Nothing) Delete(_ context.Context, _ registry.Owner, refs []entity.Ref) []controller.WriteResult {
	return failAll(refs, errNoTarget)
}

var errNoTarget = errors.New("no target to write to")

// failAll is the answer of a target that cannot do what it is asked.
func failAll(refs []entity.Ref, err error) []controller.WriteResult {
	out := make([]controller.WriteResult, len(refs))
	for i, r := range refs {
		out[i] = controller.WriteResult{Ref: r, Err: err}
	}
	return out
}
