package continuation

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
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
	// Key, when set, signs each checkpoint for its shard, and a checkpoint
	// that does not verify is not resumed: a resumed shard trusts its
	// checkpoint's entities seen and ownership search for its deletions,
	// and the store may be writable by more than the service.
	Key *events.ShardKey
}

type checkpointDoc struct {
	Resume   *source.Cursor  `json:"resume"`
	Pages    int             `json:"pages"`
	Listed   int             `json:"listed"`
	Restarts int             `json:"restarts,omitempty"`
	State    json.RawMessage `json:"state"`
	// MAC is Key's MAC of the document (MAC empty) for its shard.
	MAC string `json:"mac,omitempty"`
}

// mac is the document's MAC for shard ("" without a key).
func (c *Checkpoints) mac(shard source.Shard, doc checkpointDoc) string {
	if c.Key == nil {
		return ""
	}
	doc.MAC = ""
	b, _ := json.Marshal(doc) // a checkpointDoc always encodes
	return c.Key.MAC("checkpoint "+shard.String(), b)
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
	if want := c.mac(shard, doc); !hmac.Equal([]byte(doc.MAC), []byte(want)) {
		return controller.Segment{}, false, fmt.Errorf("the checkpoint of %s is not one this service signed for the shard", shard)
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
	doc := checkpointDoc{Resume: seg.Resume, Pages: seg.Pages, Listed: seg.Listed, Restarts: seg.Restarts, State: state}
	doc.MAC = c.mac(shard, doc)
	b, err := json.Marshal(doc)
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
