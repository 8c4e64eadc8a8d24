package controller_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// stopAfter is a checkpointer that stops the service (cancels its sync)
// after n checkpoints of the big shard: a restart mid-listing.
type stopAfter struct {
	controller.Checkpointer
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Save(ctx context.Context, shard source.Shard, seg controller.Segment) error {
	err := s.Checkpointer.Save(ctx, shard, seg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if shard.Region == "eu-west-1" {
		if s.n--; s.n == 0 {
			s.cancel()
		}
	}
	return err
}

// TestServeRestartResumesFromCheckpoint: serve's full sync checkpoints a
// 10-page shard every 3 pages; stopped after the second checkpoint, it has
// deleted nothing; the restarted service lists the 4 pages left, not 10,
// and deletes exactly the stale entities.
func TestServeRestartResumesFromCheckpoint(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{})
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("fn-%05d", i)
		s.PutFunction(t, "eu-west-1", name, 128)
		want = append(want, name)
	}
	ds := dispatchtest.Datasource("eu-west-1", "AWS::Lambda::Function")
	for _, id := range append([]string{"gone-1", "gone-2", "gone-3"}, want...) {
		s.Port.Put(ds, entity.Entity{Blueprint: "lambda", Identifier: id, Properties: map[string]any{}})
	}
	store := &continuation.Checkpoints{Store: &continuation.Dir{Root: t.TempDir()}}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Controller.SetCheckpoints(&stopAfter{Checkpointer: store, n: 2, cancel: cancel}, time.Hour, 3)
	if rep, _ := s.Controller.Run(ctx); rep.OK() {
		t.Fatal("the stopped sync reports success")
	}
	if got := s.IDs("lambda"); !slices.Contains(got, "gone-1") {
		t.Fatal("the stopped sync deleted")
	}

	// The restarted service: the same store, a new sync.
	s.CC.ResetCounts()
	s.Controller.SetCheckpoints(store, time.Hour, 3)
	rep, err := s.Controller.Run(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("the resumed sync: %v %+v", err, rep)
	}
	if n := s.CC.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n != 4 {
		t.Errorf("the resumed sync listed %d pages of the big shard, want the 4 after the checkpoint", n)
	}
	if got := s.IDs("lambda"); !slices.Equal(got, want) {
		t.Fatalf("Port holds %d lambda entities, want the %d functions (stale ones deleted)", len(got), len(want))
	}
	// Complete: the checkpoint is gone, the next sync lists from page one.
	s.CC.ResetCounts()
	if _, err := s.Controller.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.CC.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n != 10 {
		t.Errorf("the next sync listed %d pages, want all 10", n)
	}
}
