package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// arnConfig names Lambda entities by ARN, as init and the rule library do,
// while the seed's template names a deleted function by its name.
var arnConfig = strings.Replace(testConfig, `"identifier": ".FunctionName", "title": ".FunctionName", "blueprint": "\"lambda\""`,
	`"identifier": ".Arn", "title": ".FunctionName", "blueprint": "\"lambda\""`, 1)

// TestSeedDeleteFindsTheEntityNamedByARN: a delete message naming a function
// by its Cloud Control identifier (the seed's rule) reaches the entity the
// config names by ARN, once AWS proves the function gone; the same message
// about a function that still exists (a forged or stale one) deletes
// nothing; a name of no function of the shard touches nothing.
func TestSeedDeleteFindsTheEntityNamedByARN(t *testing.T) {
	if !strings.Contains(arnConfig, `"identifier": ".Arn"`) {
		t.Fatal("arnConfig did not replace the Lambda identifier")
	}
	tb := newTestbed(t, arnConfig, 3)
	if r := tb.run(t); !r.OK() {
		t.Fatalf("first sync failed: %+v", r)
	}
	c, err := controller.New(tb.parts, tb.settings)
	if err != nil {
		t.Fatal(err)
	}
	shard := source.Shard{AccountID: account, Region: "eu-west-1", Kind: "AWS::Lambda::Function"}
	arn := func(name string) string { return "arn:aws:lambda:eu-west-1:" + account + ":function:" + name }
	has := func(name string) bool { _, ok := tb.port.Entity("lambda", arn(name)); return ok }
	if !has("fn-eu-west-1-00") || !has("fn-eu-west-1-01") {
		t.Fatal("the first sync did not write the ARN-named entities")
	}

	// Still in AWS: the message is wrong, the entity stays.
	r := c.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"fn-eu-west-1-01"}, NotBefore: time.Now()})
	if r.Deleted != 0 || !has("fn-eu-west-1-01") {
		t.Fatalf("a delete of an existing function deleted %d (notes %v)", r.Deleted, r.Notes)
	}
	// A name no function of the shard has (another region's): nothing.
	r = c.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"fn-us-east-1-00"}, NotBefore: time.Now()})
	if r.Deleted != 0 {
		t.Fatalf("a delete naming another region's function deleted %d", r.Deleted)
	}
	if _, ok := tb.port.Entity("lambda", "arn:aws:lambda:us-east-1:"+account+":function:fn-us-east-1-00"); !ok {
		t.Fatal("another region's entity was deleted")
	}

	// Gone from AWS: the seed's message deletes the ARN-named entity.
	tb.emu.Delete("eu-west-1", "AWS::Lambda::Function", "fn-eu-west-1-00")
	r = c.Reconcile(context.Background(), controller.Scope{Shard: shard, Entities: []string{"fn-eu-west-1-00"}, NotBefore: time.Now()})
	if r.Deleted != 1 || has("fn-eu-west-1-00") {
		t.Fatalf("the seed's delete of a gone function deleted %d (errors %v, notes %v), want its ARN entity deleted", r.Deleted, r.Errors, r.Notes)
	}
	if !has("fn-eu-west-1-01") || !has("fn-eu-west-1-02") {
		t.Fatal("the delete took other entities of the shard with it")
	}
}
