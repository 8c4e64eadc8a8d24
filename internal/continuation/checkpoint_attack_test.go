package continuation_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// TestTamperedCheckpointNotResumed attacks serve's checkpoints: whoever can
// write the checkpoint store (its bucket or directory) plants a state and
// points the shard's head at it. A resumed shard trusts its checkpoint's
// entities seen and ownership search, so a planted one with the entities
// seen emptied and a hand-made entity among the owned would delete both
// once the listing completes. With the shard key, a checkpoint the service
// did not write for this shard is not resumed (the shard lists from its
// first page, which is always safe).
func TestTamperedCheckpointNotResumed(t *testing.T) {
	key, err := events.NewShardKey("the Port client secret")
	if err != nil {
		t.Fatal(err)
	}
	other := source.Shard{AccountID: "210987654321", Region: "eu-west-1", Kind: shard.Kind}
	seg := controller.Segment{Resume: &source.Cursor{NextToken: "t3"}, Pages: 3, Listed: 75, OwnedSearched: true,
		Desired: []entity.Ref{{Blueprint: "lambda", Identifier: "fn-1"}}, Owned: []entity.Ref{{Blueprint: "lambda", Identifier: "fn-1"}}}
	ctx := context.Background()
	// plant writes raw as a checkpoint of sh and points sh's head at it.
	plant := func(t *testing.T, st continuation.Store, sh source.Shard, raw []byte) {
		k, err := st.PutState(ctx, sh, "checkpoint", 9, raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutHead(ctx, sh, continuation.Head{RunID: "checkpoint", Seq: 9, StateKey: k}, ""); err != nil {
			t.Fatal(err)
		}
	}
	saved := func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) []byte {
		if err := cp.Save(ctx, shard, seg); err != nil {
			t.Fatal(err)
		}
		h, _, err := st.Head(ctx, shard)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := st.GetState(ctx, h.StateKey)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cases := []struct {
		name   string
		attack func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) source.Shard
		resume bool
	}{
		{"its own checkpoint is resumed", func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) source.Shard {
			saved(t, st, cp)
			return shard
		}, true},
		{"entities seen emptied, a hand-made entity owned", func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) source.Shard {
			var doc map[string]any
			if err := json.Unmarshal(saved(t, st, cp), &doc); err != nil {
				t.Fatal(err)
			}
			state := doc["state"].(map[string]any)
			state["desired"] = map[string]any{}
			state["owned"] = map[string]any{"lambda": []string{"by-hand", "fn-1"}}
			raw, _ := json.Marshal(doc)
			plant(t, st, shard, raw)
			return shard
		}, false},
		{"another shard's checkpoint", func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) source.Shard {
			plant(t, st, other, saved(t, st, cp))
			return other
		}, false},
		{"a checkpoint without a signature", func(t *testing.T, st continuation.Store, cp *continuation.Checkpoints) source.Shard {
			if err := (&continuation.Checkpoints{Store: st}).Save(ctx, shard, seg); err != nil {
				t.Fatal(err)
			}
			return shard
		}, false},
	}
	if len(cases) < 4 {
		t.Fatal("cases cut short")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &continuation.Dir{Root: t.TempDir()}
			cp := &continuation.Checkpoints{Store: st, Key: key}
			sh := c.attack(t, st, cp)
			got, ok, _ := cp.Load(ctx, sh)
			if ok != c.resume {
				t.Fatalf("resumed %v (%+v), want %v", ok, got, c.resume)
			}
		})
	}
}
