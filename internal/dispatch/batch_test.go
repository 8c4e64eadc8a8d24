package dispatch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// TestBatchOfTenWithMalformedAndFailingWrite is issue 3's batch: 10 messages,
// 2 malformed, 1 whose Port write fails with 503; the rest land.
func TestBatchOfTenWithMalformedAndFailingWrite(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{PortMiddleware: dispatchtest.FailBlueprint("bucket", func() bool { return true })})
	var items []dispatch.Item
	for i := range 7 {
		name := fmt.Sprintf("fn-%d", i)
		s.PutFunction(t, "eu-west-1", name, 128+i)
		items = append(items, dispatch.Item{ID: "ok-" + name, Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name)})
	}
	if err := s.CC.Put("us-east-1", "AWS::S3::Bucket", "logs", map[string]any{"BucketName": "logs", "Arn": "arn:aws:s3:::logs"}); err != nil {
		t.Fatal(err)
	}
	items = append(items,
		dispatch.Item{ID: "bad-json", Body: []byte(`{"resource_type": "AWS::Lambda::Function",`)},
		dispatch.Item{ID: "bucket-503", Body: []byte(`{"resource_type":"AWS::S3::Bucket","region":"\"us-east-1\"","identifier":"\"logs\""}`)},
		dispatch.Item{ID: "no-identifier", Body: []byte(`{"resource_type":"AWS::Lambda::Function","region":"\"eu-west-1\""}`)},
	)

	out := s.Handler.HandleBatch(context.Background(), items)
	if len(out) != len(items) {
		t.Fatalf("%d outcomes for %d messages", len(out), len(items))
	}
	for i, o := range out {
		if o.ID != items[i].ID {
			t.Fatalf("outcome %d is for %s, want %s (outcomes must keep the batch order)", i, o.ID, items[i].ID)
		}
		want := dispatch.StatusOK
		switch o.ID {
		case "bad-json", "no-identifier":
			want = dispatch.StatusDeadLetter
		case "bucket-503":
			want = dispatch.StatusRetry
		}
		if o.Status != want {
			t.Errorf("%s: %s (%v), want %s", o.ID, o.Status, o.Err, want)
		}
	}
	if out[7].Reason != events.ReasonMalformedJSON || out[9].Reason != events.ReasonMissingField {
		t.Errorf("reasons %q and %q, want %q and %q", out[7].Reason, out[9].Reason, events.ReasonMalformedJSON, events.ReasonMissingField)
	}
	if got := s.IDs("lambda"); len(got) != 7 {
		t.Errorf("lambda holds %v, want the 7 functions", got)
	}
}

func TestBatchDeduplicatesMessagesAboutOneResource(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{})
	s.PutFunction(t, "eu-west-1", "busy", 256)
	s.PutFunction(t, "eu-west-1", "other", 128)
	items := []dispatch.Item{
		{ID: "create", Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "busy")},
		{ID: "update", Body: dispatchtest.FunctionMessage("eu-west-1", "UpdateFunctionConfiguration20150331v2", "busy")},
		{ID: "other", Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "other")},
		{ID: "delete-failed", Body: dispatchtest.FunctionMessage("eu-west-1", "DeleteFunction20150331", "busy")},
		// Same function name in another region: another resource.
		{ID: "us", Body: dispatchtest.FunctionMessage("us-east-1", "CreateFunction20150331", "busy")},
	}
	out := s.Handler.HandleBatch(context.Background(), items)
	for _, o := range out {
		if o.Status != dispatch.StatusOK {
			t.Errorf("%s: %s (%v)", o.ID, o.Status, o.Err)
		}
	}
	if n := s.CC.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != 2 {
		t.Errorf("%d GetResource calls in eu-west-1 for 2 distinct functions, want 2", n)
	}
	if n := s.CC.Counts(cloudcontrol.OpGetResource, "us-east-1").Calls; n != 1 {
		t.Errorf("%d GetResource calls in us-east-1, want 1", n)
	}
	// The latest message (the failed delete) is the one handled; the others share its outcome.
	for _, i := range []int{0, 1} {
		if out[i].DuplicateOf != "delete-failed" {
			t.Errorf("%s: DuplicateOf %q, want delete-failed", out[i].ID, out[i].DuplicateOf)
		}
	}
	if out[3].DuplicateOf != "" || out[3].Report == nil || out[3].Report.Decision.Action != events.ActionDelete || !out[3].Report.Found {
		t.Errorf("delete-failed report %+v, want the handled delete that found the function", out[3].Report)
	}
	if got := s.IDs("lambda"); !slices.Equal(got, []string{"busy", "other"}) {
		t.Errorf("lambda holds %v, want [busy other]", got)
	}
}

func TestBatchConcurrencyIsBounded(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{Concurrency: 3})
	s.Port.SetLatency(30 * time.Millisecond)
	s.CC.SetLatency(5 * time.Millisecond)
	var items []dispatch.Item
	for i := range 12 {
		name := fmt.Sprintf("fn-%02d", i)
		s.PutFunction(t, "eu-west-1", name, 128)
		items = append(items, dispatch.Item{ID: name, Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name)})
	}
	for _, o := range s.Handler.HandleBatch(context.Background(), items) {
		if o.Status != dispatch.StatusOK {
			t.Fatalf("%s: %s (%v)", o.ID, o.Status, o.Err)
		}
	}
	// The 3 units running at a time share their upserts' requests: 12
	// messages take at least 4 bulk requests of at most 3 entities (more
	// would mean more than 3 ran at once) and fewer than 12 (they shared).
	if n := s.Port.Count(portapi.RouteBulkUpsert, 0); n < 4 || n >= 12 {
		t.Errorf("Port received %d bulk upserts for 12 messages 3 at a time, want 4 to 11", n)
	}
	if n := s.Port.MaxConcurrent(); n > 3 {
		t.Errorf("Port saw %d concurrent requests, want at most 3", n)
	}
}

func TestBatchAfterDeadlineStartsNothing(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{})
	s.PutFunction(t, "eu-west-1", "late", 128)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := s.Handler.HandleBatch(ctx, []dispatch.Item{
		{ID: "a", Body: dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "late")},
		{ID: "b", Body: []byte("not json")},
	})
	if out[0].Status != dispatch.StatusRetry {
		t.Errorf("work after the deadline: %s (%v), want transient so SQS redelivers it", out[0].Status, out[0].Err)
	}
	if out[1].Status != dispatch.StatusDeadLetter {
		t.Errorf("a malformed message is permanent whatever the deadline, got %s", out[1].Status)
	}
	if n := s.CC.TotalCounts().Calls; n != 0 {
		t.Errorf("%d Cloud Control calls after the deadline, want none", n)
	}
}

func TestBatchRoutesShardMessages(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{})
	s.PutFunction(t, "eu-west-1", "listed", 128)
	s.PutFunction(t, "us-east-1", "listed-too", 128)
	// A stale entity this exporter owns for the eu-west-1 Lambda shard: the shard sync deletes it.
	owner := "port-aws-exporter/2 (accountid/123456789012 region/eu-west-1 kind/AWS::Lambda::Function)"
	s.Port.Put(owner, entity.Entity{Blueprint: "lambda", Identifier: "stale", Properties: map[string]any{}})
	s.CC.SetFault(cloudcontrol.Scope{Region: "us-east-1"}, cloudcontrol.InternalError)

	shards, err := dispatch.ShardRequests(s.Controller)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, sh := range shards {
		kinds = append(kinds, sh.Shard.Region+" "+sh.Shard.Kind)
	}
	if want := []string{"eu-west-1 AWS::Lambda::Function", "us-east-1 AWS::Lambda::Function", "us-east-1 AWS::S3::Bucket"}; !slices.Equal(kinds, want) {
		t.Fatalf("shards %v, want %v", kinds, want)
	}
	item := func(id, account, region, kind string) dispatch.Item {
		b, attrs, err := s.ShardKey.ShardMessage(events.ShardRequest{Shard: source.Shard{AccountID: account, Region: region, Kind: kind}})
		if err != nil {
			t.Fatal(err)
		}
		return dispatch.Item{ID: id, Body: b, Attributes: attrs}
	}
	out := s.Handler.HandleBatch(context.Background(), []dispatch.Item{
		item("eu", dispatchtest.AccountID, "eu-west-1", "AWS::Lambda::Function"),
		item("eu-again", dispatchtest.AccountID, "eu-west-1", "AWS::Lambda::Function"),
		item("us", dispatchtest.AccountID, "us-east-1", "AWS::Lambda::Function"),
	})
	if out[0].Status != dispatch.StatusOK || out[1].Status != dispatch.StatusOK || out[0].DuplicateOf != "eu-again" {
		t.Errorf("eu-west-1 shard outcomes %+v / %+v, want ok, handled once", out[0], out[1])
	}
	if out[2].Status != dispatch.StatusRetry {
		t.Errorf("a shard whose listing failed: %s (%v), want transient so SQS retries it", out[2].Status, out[2].Err)
	}
	if got := s.IDs("lambda"); !slices.Equal(got, []string{"listed"}) {
		t.Errorf("after the eu-west-1 shard sync lambda holds %v, want [listed] (stale deleted, us-east-1 failed)", got)
	}
	if r := out[0].Report; r == nil || r.ShardSummary == nil || r.ShardSummary.Listed != 1 || r.ShardSummary.Deleted != 1 {
		t.Errorf("shard report %+v, want 1 listed and 1 deleted", out[0].Report)
	}
	if n := s.CC.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n != 1 {
		t.Errorf("%d ListResources calls in eu-west-1, want 1 (the duplicate shard message runs once)", n)
	}

	o := s.Handler.HandleBatch(context.Background(), []dispatch.Item{item("other", "999999999999", "eu-west-1", "AWS::Lambda::Function")})[0]
	if o.Status != dispatch.StatusDeadLetter || o.Reason != events.ReasonBadShardMessage {
		t.Errorf("a shard of another account: %s/%s, want dead-lettered", o.Status, o.Reason)
	}
}
