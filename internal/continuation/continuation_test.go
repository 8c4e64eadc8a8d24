package continuation_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

var shard = source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::Lambda::Function"}

func TestStateRoundTrip(t *testing.T) {
	seg := controller.Segment{
		Desired:         []entity.Ref{{Blueprint: "a", Identifier: "1"}, {Blueprint: "a", Identifier: "2"}, {Blueprint: "b", Identifier: "x"}},
		Owned:           []entity.Ref{{Blueprint: "a", Identifier: "9"}},
		OwnedBlueprints: []string{"a", "b"}, OwnedSearched: true,
		Problems: []controller.Problem{{Reason: "mapping_error", Error: "boom"}},
	}
	b, err := continuation.EncodeState(seg)
	if err != nil {
		t.Fatal(err)
	}
	var got controller.Segment
	if err := continuation.DecodeState(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, seg) {
		t.Fatalf("round trip: %+v, want %+v", got, seg)
	}
	// More problems than are kept: one entry stands for the rest, and a
	// state naming a huge count costs no more than that entry.
	var many controller.Segment
	if err := continuation.DecodeState([]byte(`{"version":1,"desired":{},"owned_searched":true,"problems":[{"reason":"port_rejected","error":"422"}],"problem_count":2000000000}`), &many); err != nil {
		t.Fatal(err)
	}
	if len(many.Problems) != 2 || many.Problems[1].Error != "and 1999999999 more (not kept)" {
		t.Errorf("problems %+v, want the kept one and one standing for the rest", many.Problems)
	}
	for _, bad := range []string{`{"version":2,"desired":{}}`, `{"version":1,"desired":{},"extra":1}`, `[]`} {
		if err := continuation.DecodeState([]byte(bad), &got); err == nil {
			t.Errorf("state %s was accepted", bad)
		}
	}
}

// TestStores: both stores keep heads with conditional writes and states by
// key, and remove a run's states.
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) continuation.Store{
		"dir": func(t *testing.T) continuation.Store { return &continuation.Dir{Root: t.TempDir()} },
		"s3": func(t *testing.T) continuation.Store {
			m := moto.Start(t)
			c := s3.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"), func(o *s3.Options) { o.UsePathStyle = true })
			if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("state"),
				CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
				t.Fatal(err)
			}
			return &continuation.S3{Client: c, Bucket: "state", Prefix: "exporter/continuations"}
		},
	}
	if len(stores) < 2 {
		t.Fatal("want both stores")
	}
	for name, open := range stores {
		t.Run(name+"/checkpoints", func(t *testing.T) {
			ctx := context.Background()
			cp := &continuation.Checkpoints{Store: open(t)}
			if _, ok, err := cp.Load(ctx, shard); ok || err != nil {
				t.Fatalf("a shard never checkpointed: %v %v", ok, err)
			}
			seg := controller.Segment{Resume: &source.Cursor{NextToken: "t3"}, Pages: 3, Listed: 75, OwnedSearched: true,
				Desired: []entity.Ref{{Blueprint: "lambda", Identifier: "fn-1"}}}
			for _, pages := range []int{3, 6} {
				seg.Pages = pages
				if err := cp.Save(ctx, shard, seg); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := cp.Load(ctx, shard)
			if err != nil || !ok || !reflect.DeepEqual(got, seg) {
				t.Fatalf("loaded %+v %v %v, want the last one saved %+v", got, ok, err, seg)
			}
			if err := cp.Clear(ctx, shard); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := cp.Load(ctx, shard); ok || err != nil {
				t.Fatalf("a cleared checkpoint: %v %v", ok, err)
			}
		})
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			if _, _, err := st.Head(ctx, shard); !errors.Is(err, continuation.ErrNoHead) {
				t.Fatalf("head of a new shard: %v, want ErrNoHead", err)
			}
			if _, err := st.PutHead(ctx, shard, continuation.Head{RunID: "a"}, "stale-version"); !errors.Is(err, continuation.ErrConflict) {
				t.Fatalf("conditional write of an absent head: %v, want ErrConflict", err)
			}
			v1, err := st.PutHead(ctx, shard, continuation.Head{RunID: "a", Seq: 1}, "")
			if err != nil {
				t.Fatal(err)
			}
			v2, err := st.PutHead(ctx, shard, continuation.Head{RunID: "a", Seq: 2}, v1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.PutHead(ctx, shard, continuation.Head{RunID: "a", Seq: 2}, v1); !errors.Is(err, continuation.ErrConflict) {
				t.Fatalf("second write on the same version: %v, want ErrConflict", err)
			}
			h, v, err := st.Head(ctx, shard)
			if err != nil || h.Seq != 2 || v != v2 {
				t.Fatalf("head %+v %q %v, want seq 2 at the second version", h, v, err)
			}
			key, err := st.PutState(ctx, shard, "a", 2, []byte(`{"version":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if b, err := st.GetState(ctx, key); err != nil || string(b) != `{"version":1}` {
				t.Fatalf("state %q %v", b, err)
			}
			if err := st.DeleteRun(ctx, shard, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetState(ctx, key); err == nil {
				t.Fatal("a state survived DeleteRun")
			}
		})
	}
}
