package controller_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// listingStack is the event path over a config whose deletions are proven
// by listing (SQS queues named by QueueName).
func listingStack(t *testing.T) *dispatchtest.Stack {
	t.Helper()
	cfg, err := os.ReadFile("../dispatch/testdata/listing/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bps, err := os.ReadFile("../dispatch/testdata/listing/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	return dispatchtest.New(t, dispatchtest.Options{Config: cfg, Blueprints: bps})
}

// TestProofListingIsNeverOlderThanTheMessage: a listing that proves a
// deletion is shared only by messages that arrived before it started. A
// message that arrived later (a resource may have been created in between)
// gets a listing of its own.
func TestProofListingIsNeverOlderThanTheMessage(t *testing.T) {
	s := listingStack(t)
	shard := source.Shard{AccountID: dispatchtest.AccountID, Region: "eu-west-1", Kind: "AWS::SQS::Queue"}
	owned := dispatchtest.Datasource("eu-west-1", "AWS::SQS::Queue")
	s.Port.Put(owned, entity.Entity{Blueprint: "queue", Identifier: "a", Properties: map[string]any{}},
		entity.Entity{Blueprint: "queue", Identifier: "b", Properties: map[string]any{}},
		entity.Entity{Blueprint: "queue", Identifier: "c", Properties: map[string]any{}})
	lists := func() int { return s.CC.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls }

	arrived := time.Now()
	r := s.Controller.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"a"}, NotBefore: arrived})
	if r.Deleted != 1 || lists() != 1 {
		t.Fatalf("first delete: deleted %d with %d listings (errors %v), want 1 with 1", r.Deleted, lists(), r.Errors)
	}
	// Arrived before that listing started: it may serve.
	r = s.Controller.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"b"}, NotBefore: arrived})
	if r.Deleted != 1 || lists() != 1 {
		t.Fatalf("second delete, same arrival: deleted %d with %d listings, want 1 with 1 (shared)", r.Deleted, lists())
	}
	// Queue c is created now, and a message about it arrives after the
	// listing: the old listing (without c) must not prove c gone.
	url := "https://sqs.eu-west-1.amazonaws.com/123456789012/c"
	if err := s.CC.Put("eu-west-1", "AWS::SQS::Queue", url, map[string]any{"QueueName": "c", "QueueUrl": url}); err != nil {
		t.Fatal(err)
	}
	r = s.Controller.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"c"}, NotBefore: time.Now()})
	if r.Deleted != 0 || lists() != 2 {
		t.Fatalf("delete of a queue created after the listing: deleted %d with %d listings (notes %v), want 0 with a new listing", r.Deleted, lists(), r.Notes)
	}
	if _, ok := s.Port.Entity("queue", "c"); !ok {
		t.Fatal("queue c's entity was deleted on an old listing")
	}
}

// TestAFloodOfDeletionsCostsListingsInTurnNotEach: 30 messages naming owned
// entities of a listing-proven kind, each arriving after the previous one's
// listing started (the worst case: none may share a listing that started
// before it), cost listings one after another, at most one running and one
// queued per shard, not 30.
func TestAFloodOfDeletionsCostsListingsInTurnNotEach(t *testing.T) {
	s := listingStack(t)
	s.CC.SetLatency(40 * time.Millisecond)
	shard := source.Shard{AccountID: dispatchtest.AccountID, Region: "eu-west-1", Kind: "AWS::SQS::Queue"}
	owned := dispatchtest.Datasource("eu-west-1", "AWS::SQS::Queue")
	const messages = 30
	for i := range messages {
		s.Port.Put(owned, entity.Entity{Blueprint: "queue", Identifier: fmt.Sprintf("q-%d", i), Properties: map[string]any{}})
	}
	var wg sync.WaitGroup
	var deleted atomic.Int64
	for i := range messages {
		wg.Go(func() {
			r := s.Controller.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{fmt.Sprintf("q-%d", i)}, NotBefore: time.Now()})
			deleted.Add(int64(r.Deleted))
		})
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	lists := s.CC.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls
	if deleted.Load() != messages {
		t.Fatalf("deleted %d of %d gone queues' entities", deleted.Load(), messages)
	}
	// 30 arrivals 5 ms apart over listings of 40 ms: a handful in turn.
	if lists > 10 {
		t.Fatalf("%d listings for %d messages, want listings in turn (at most 10)", lists, messages)
	}
	t.Logf("%d messages, %d listings", messages, lists)
}

// TestKeysMeetOnOneResource: a message naming a table by name and one naming
// its entity by ARN are about one resource; their scopes share a key, so a
// process never reconciles them at the same time. A table of another
// region's ARN shares none.
func TestKeysMeetOnOneResource(t *testing.T) {
	cfg, err := os.ReadFile("../dispatch/testdata/arn/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bps, err := os.ReadFile("../dispatch/testdata/arn/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	s := dispatchtest.New(t, dispatchtest.Options{Config: cfg, Blueprints: bps})
	shard := source.Shard{AccountID: dispatchtest.AccountID, Region: "eu-west-1", Kind: "AWS::DynamoDB::Table"}
	byName := s.Controller.Keys(controller.Scope{Shard: shard, Resources: []string{"orders"}, Entities: []string{"orders"}})
	byARN := s.Controller.Keys(controller.Scope{Shard: shard, Entities: []string{"arn:aws:dynamodb:eu-west-1:123456789012:table/orders"}})
	other := s.Controller.Keys(controller.Scope{Shard: shard, Entities: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/orders"}})
	shared := func(a, b []string) bool {
		for _, k := range a {
			if slices.Contains(b, k) {
				return true
			}
		}
		return false
	}
	if !shared(byName, byARN) {
		t.Errorf("keys by name %q and by ARN %q share nothing", byName, byARN)
	}
	if shared(byName, other) {
		t.Errorf("another region's ARN %q shares a key with %q", other, byName)
	}
}
