package continuation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// checkpointRun is the run id of serve's checkpoints: a service has one run
// of each shard at a time (under the sync lease with replicas).
const checkpointRun = "checkpoint"

// DefaultCheckpointMaxAge is how old a checkpoint may be to be resumed: a
// restart resumes, a service stopped for a day lists again.
const DefaultCheckpointMaxAge = 6 * time.Hour

// Checkpoints keep serve's shard checkpoints in a Store (controller.Checkpointer).
// Use a prefix (or directory) of its own: Lambda's runs of the same shards
// keep their heads under the same keys.
type Checkpoints struct {
	Store  Store
	MaxAge time.Duration
}

type checkpointDoc struct {
	Resume   *source.Cursor  `json:"resume"`
	Pages    int             `json:"pages"`
	Listed   int             `json:"listed"`
	Restarts int             `json:"restarts,omitempty"`
	State    json.RawMessage `json:"state"`
}

// Load implements controller.Checkpointer.
func (c *Checkpoints) Load(ctx context.Context, shard source.Shard) (controller.Segment, bool, error) {
	h, _, err := c.Store.Head(ctx, shard)
	if errors.Is(err, ErrNoHead) {
		return controller.Segment{}, false, nil
	}
	if err != nil {
		return controller.Segment{}, false, err
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultCheckpointMaxAge
	}
	if h.RunID != checkpointRun || h.Done || h.StateKey == "" || time.Since(h.UpdatedAt) > maxAge {
		return controller.Segment{}, false, nil
	}
	b, err := c.Store.GetState(ctx, h.StateKey)
	if err != nil {
		return controller.Segment{}, false, err
	}
	var doc checkpointDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return controller.Segment{}, false, fmt.Errorf("decode the checkpoint of %s: %w", shard, err)
	}
	var seg controller.Segment
	if err := DecodeState(doc.State, &seg); err != nil {
		return controller.Segment{}, false, err
	}
	seg.Resume, seg.Pages, seg.Listed, seg.Restarts = doc.Resume, doc.Pages, doc.Listed, doc.Restarts
	return seg, doc.Resume != nil, nil
}

// Save implements controller.Checkpointer.
func (c *Checkpoints) Save(ctx context.Context, shard source.Shard, seg controller.Segment) error {
	state, err := EncodeState(seg)
	if err != nil {
		return err
	}
	b, err := json.Marshal(checkpointDoc{Resume: seg.Resume, Pages: seg.Pages, Listed: seg.Listed, Restarts: seg.Restarts, State: state})
	if err != nil {
		return err
	}
	old, _, err := c.Store.Head(ctx, shard)
	if err != nil && !errors.Is(err, ErrNoHead) {
		return err
	}
	key, err := c.Store.PutState(ctx, shard, checkpointRun, seg.Pages, b)
	if err != nil {
		return err
	}
	if _, err := c.Store.PutHead(ctx, shard, Head{RunID: checkpointRun, StartedAt: time.Now().UTC(), Seq: seg.Pages, StateKey: key}, ""); err != nil {
		return err
	}
	if old.RunID == checkpointRun && old.StateKey != "" && old.StateKey != key {
		_ = c.deleteState(ctx, old.StateKey)
	}
	return nil
}

// deleteState removes one state object, where the store can.
func (c *Checkpoints) deleteState(ctx context.Context, key string) error {
	if d, ok := c.Store.(interface {
		DeleteState(ctx context.Context, key string) error
	}); ok {
		return d.DeleteState(ctx, key)
	}
	return nil
}

// Clear implements controller.Checkpointer.
func (c *Checkpoints) Clear(ctx context.Context, shard source.Shard) error {
	h, _, err := c.Store.Head(ctx, shard)
	if errors.Is(err, ErrNoHead) {
		return nil
	}
	if err != nil {
		return err
	}
	if h.RunID != checkpointRun || h.Done {
		return nil
	}
	if _, err := c.Store.PutHead(ctx, shard, Head{RunID: checkpointRun, Done: true}, ""); err != nil {
		return err
	}
	return c.Store.DeleteRun(ctx, shard, checkpointRun)
}

var _ controller.Checkpointer = (*Checkpoints)(nil)
