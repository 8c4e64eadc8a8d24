package controller_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// TestProofListingIsNeverOlderThanTheMessage: a listing that proves a
// deletion is shared only by messages that arrived before it started. A
// message that arrived later (a resource may have been created in between)
// gets a listing of its own.
func TestProofListingIsNeverOlderThanTheMessage(t *testing.T) {
	cfg, err := os.ReadFile("../dispatch/testdata/listing/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bps, err := os.ReadFile("../dispatch/testdata/listing/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	s := dispatchtest.New(t, dispatchtest.Options{Config: cfg, Blueprints: bps})
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
