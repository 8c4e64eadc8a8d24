package lambdaruntime_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestTamperedStateInS3DeletesNothing attacks the run's state kept in S3:
// whoever can write the bucket (not the queue) rewrites the state object a
// signed continuation names, emptying the entities seen so far and adding
// the hand-made entity to the ownership search. Were the state taken as is,
// the last segment would delete the 75 entities of existing functions the
// first segment listed, and the hand-made entity. A deleted state object
// must not complete the run either.
func TestTamperedStateInS3DeletesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, b *contBed, key string)
	}{
		{"rewritten", func(t *testing.T, b *contBed, key string) {
			raw, err := b.store.GetState(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			doc["desired"] = map[string][]string{}
			owned := doc["owned"].(map[string]any)
			owned["lambda"] = append(owned["lambda"].([]any), "by-hand")
			plain, _ := json.Marshal(doc)
			var forged bytes.Buffer
			zw := gzip.NewWriter(&forged)
			_, _ = zw.Write(plain)
			_ = zw.Close()
			if _, err := b.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("exporter-state"), Key: aws.String(key),
				Body: bytes.NewReader(forged.Bytes()), ContentEncoding: aws.String("gzip")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"deleted", func(t *testing.T, b *contBed, key string) {
			if _, err := b.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("exporter-state"), Key: aws.String(key)}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newContBed(t, contOptions{pagesPerSegment: 3, inlineLimit: -1})
			want := b.scenario()
			slices.Sort(want)
			b.startRun()
			b.invoke(b.h, b.receive(), 60*time.Second)
			m1 := b.receive()
			c := b.continuationOf(m1)
			if c == nil || c.StateKey == "" {
				t.Fatalf("continuation %+v, want its state in the store", c)
			}
			tc.tamper(t, b, c.StateKey)
			if _, err := b.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(b.url),
				ReceiptHandle: m1.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
			// Every delivery, redeliveries included, until the queue is empty
			// (the tampered message fails or is dead-lettered).
			for i := 0; i < 10; i++ {
				msg := b.receive()
				if msg == nil {
					break
				}
				b.invoke(b.h, msg, 60*time.Second)
			}
			got := b.lambdaIDs()
			for _, id := range []string{"fn-00000", "fn-00074", "by-hand"} {
				if !slices.Contains(got, id) {
					t.Errorf("%s was deleted: the run trusted a state it did not write", id)
				}
			}
			if missing := diff(want, got); len(missing) > 0 {
				t.Errorf("%d entities of existing resources deleted, first %v", len(missing), missing[:min(5, len(missing))])
			}
		})
	}
}

// TestFutureHeadDoesNotBlockRuns: a run under way (its head moved lately)
// covers a new shard message; a head whose last move is a year ahead (a
// clock far off, or a head rewritten in the bucket) is no run under way,
// else the shard would never sync again.
func TestFutureHeadDoesNotBlockRuns(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	slices.Sort(want)
	key := "continuations/" + bigShard.AccountID + "/" + bigShard.Region + "/" + bigShard.Kind + "/head.json"
	head, _ := json.Marshal(map[string]any{"run_id": "planted", "started_at": time.Now().UTC(), "seq": 4,
		"updated_at": time.Now().UTC().AddDate(1, 0, 0)})
	if _, err := b.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("exporter-state"), Key: aws.String(key),
		Body: bytes.NewReader(head)}); err != nil {
		t.Fatal(err)
	}
	b.startRun()
	if n := b.drain(10); n != 4 {
		t.Errorf("%d invocations, want 4 (a new run of 10 pages, 3 a segment)", n)
	}
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Errorf("the shard did not sync (a head dated a year ahead blocked the new run): missing %v, extra %v", diff(want, got), diff(got, want))
	}
}
