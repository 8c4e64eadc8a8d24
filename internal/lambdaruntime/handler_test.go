package lambdaruntime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// queues creates an events queue with a RedrivePolicy to a dead-letter queue.
func queues(t *testing.T, client *sqs.Client, name string) (srcURL, srcARN, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN := arnOf(t, client, aws.ToString(dlq.QueueUrl))
	src, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`, dlqARN)}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(src.QueueUrl), arnOf(t, client, aws.ToString(src.QueueUrl)), aws.ToString(dlq.QueueUrl)
}

func arnOf(t *testing.T, client *sqs.Client, url string) string {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)]
}

func receiveAll(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
		}
		all = append(all, out.Messages...)
	}
	return all
}

func record(id, arn, body string) lambdaevents.SQSMessage {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	return lambdaevents.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: "eu-west-1",
		ReceiptHandle: "rh-" + id, Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": now, "ApproximateFirstReceiveTimestamp": now}}
}

// recordOf is the Lambda record of a message received from SQS, with its
// message attributes as Lambda hands them over.
func recordOf(m types.Message, arn string) lambdaevents.SQSMessage {
	r := record(aws.ToString(m.MessageId), arn, aws.ToString(m.Body))
	r.MessageAttributes = map[string]lambdaevents.SQSMessageAttribute{}
	for k, v := range m.MessageAttributes {
		r.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
	}
	return r
}

func invoke(t *testing.T, h *lambdaruntime.Handler, ctx context.Context, payload any) (json.RawMessage, error) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(ctx, raw)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

// TestSQSBatchOfTen is issue 3's batch through the Lambda handler: 10
// records, 2 malformed, 1 whose Port write gets 503. batchItemFailures must
// name only that one; the 2 malformed are in the dead-letter queue with their
// reasons (found from the queue's RedrivePolicy via the record's eventSourceARN).
func TestSQSBatchOfTen(t *testing.T) {
	m := moto.Start(t)
	client := sqs.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"))
	_, srcARN, dlqURL := queues(t, client, "lambda-batch")
	s := dispatchtest.New(t, dispatchtest.Options{PortMiddleware: dispatchtest.FailBlueprint("bucket", func() bool { return true })})

	var ev lambdaevents.SQSEvent
	for i := range 7 {
		name := fmt.Sprintf("fn-%d", i)
		s.PutFunction(t, "eu-west-1", name, 128)
		ev.Records = append(ev.Records, record("ok-"+name, srcARN, string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name))))
	}
	if err := s.CC.Put("us-east-1", "AWS::S3::Bucket", "logs", map[string]any{"BucketName": "logs", "Arn": "arn:aws:s3:::logs"}); err != nil {
		t.Fatal(err)
	}
	ev.Records = append(ev.Records,
		record("bad-json", srcARN, `{"resource_type": `),
		record("bucket-503", srcARN, `{"resource_type":"AWS::S3::Bucket","region":"\"us-east-1\"","identifier":"\"logs\""}`),
		record("bad-action", srcARN, `{"resource_type":"AWS::Lambda::Function","region":"\"eu-west-1\"","identifier":"\"x\"","action":"\"destroy\""}`),
	)
	h := &lambdaruntime.Handler{Batch: s.Handler, SQS: client}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw, err := invoke(t, h, ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp lambdaevents.SQSEventResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bucket-503" {
		t.Fatalf("batchItemFailures %s, want exactly bucket-503", raw)
	}
	if got := s.IDs("lambda"); len(got) != 7 {
		t.Errorf("lambda holds %v, want the 7 functions", got)
	}
	reasons := map[string]string{}
	for _, d := range receiveAll(t, client, dlqURL) {
		reasons[aws.ToString(d.MessageAttributes[queue.AttrOriginalMessageID].StringValue)] = aws.ToString(d.MessageAttributes[queue.AttrReason].StringValue)
	}
	want := map[string]string{"bad-json": events.ReasonMalformedJSON, "bad-action": events.ReasonBadAction}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Fatalf("dead-letter queue holds %v, want %v", reasons, want)
	}
}

func TestSQSPermanentFailureWithoutDeadLetterQueueIsRetried(t *testing.T) {
	m := moto.Start(t)
	client := sqs.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"))
	src, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("no-redrive")})
	if err != nil {
		t.Fatal(err)
	}
	s := dispatchtest.New(t, dispatchtest.Options{})
	h := &lambdaruntime.Handler{Batch: s.Handler, SQS: client, QueueURL: aws.ToString(src.QueueUrl)}
	raw, err := invoke(t, h, context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{record("bad", "arn:aws:sqs:eu-west-1:123456789012:no-redrive", "nope")}})
	if err != nil {
		t.Fatal(err)
	}
	var resp lambdaevents.SQSEventResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad" {
		t.Fatalf("with nowhere to dead-letter, a permanent failure must be reported failed (never lost), got %s", raw)
	}
}

func TestScheduledEventFansOutShards(t *testing.T) {
	m := moto.Start(t)
	client := sqs.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"))
	srcURL, _, _ := queues(t, client, "fanout")
	s := dispatchtest.New(t, dispatchtest.Options{})
	h := &lambdaruntime.Handler{Batch: s.Handler, ShardKey: s.ShardKey, SQS: client, QueueURL: srcURL,
		Shards: lambdaruntime.ShardListerFunc(func(context.Context) ([]events.ShardRequest, error) { return dispatch.ShardRequests(s.Controller) })}

	for _, payload := range []any{
		map[string]any{},
		map[string]any{"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "detail": map[string]any{}},
	} {
		raw, err := invoke(t, h, context.Background(), payload)
		if err != nil {
			t.Fatalf("scheduled invocation %v: %v", payload, err)
		}
		if string(raw) != `{"shards_sent":3}` {
			t.Errorf("scheduled invocation answered %s, want 3 shards sent", raw)
		}
	}
	var shards []string
	queued := receiveAll(t, client, srcURL)
	for _, msg := range queued {
		attrs := map[string]string{}
		for k, v := range msg.MessageAttributes {
			attrs[k] = aws.ToString(v.StringValue)
		}
		parsed, err := events.Parse([]byte(aws.ToString(msg.Body)), attrs, s.ShardKey)
		if err != nil || parsed.Shard == nil {
			t.Fatalf("queued %s is not a signed shard message: %v", aws.ToString(msg.Body), err)
		}
		shards = append(shards, parsed.Shard.String())
	}
	slices.Sort(shards)
	want := []string{
		"123456789012/eu-west-1/AWS::Lambda::Function", "123456789012/eu-west-1/AWS::Lambda::Function",
		"123456789012/us-east-1/AWS::Lambda::Function", "123456789012/us-east-1/AWS::Lambda::Function",
		"123456789012/us-east-1/AWS::S3::Bucket", "123456789012/us-east-1/AWS::S3::Bucket",
	}
	if !slices.Equal(shards, want) {
		t.Fatalf("queue holds shard messages %v, want %v", shards, want)
	}

	// The queued shard messages, delivered as records with their
	// attributes, sync their shards; the same bodies without the signature
	// attribute are dead-lettered as forged.
	s.PutFunction(t, "eu-west-1", "listed", 128)
	var ev lambdaevents.SQSEvent
	for _, msg := range queued[:1] {
		ev.Records = append(ev.Records, recordOf(msg, "arn:aws:sqs:eu-west-1:123456789012:fanout"))
	}
	outcomes := s.Handler.HandleBatch(context.Background(), []dispatch.Item{
		{ID: "signed", Body: []byte(ev.Records[0].Body), Attributes: map[string]string{events.SignatureAttribute: *ev.Records[0].MessageAttributes[events.SignatureAttribute].StringValue}},
		{ID: "stripped", Body: []byte(ev.Records[0].Body + " ")},
	})
	if outcomes[0].Status != dispatch.StatusOK {
		t.Errorf("a signed shard message: %s %v", outcomes[0].Status, outcomes[0].Err)
	}
	if outcomes[1].Reason != events.ReasonForgedShardMessage {
		t.Errorf("an unsigned shard message: %s/%s, want %s", outcomes[1].Status, outcomes[1].Reason, events.ReasonForgedShardMessage)
	}
}

// TestDeadlineStopsNewWork gives the invocation less time than its work
// needs: what did not finish is reported failed, for SQS to redeliver.
func TestDeadlineStopsNewWork(t *testing.T) {
	s := dispatchtest.New(t, dispatchtest.Options{Concurrency: 1})
	s.Port.SetLatency(300 * time.Millisecond)
	var ev lambdaevents.SQSEvent
	for i := range 6 {
		name := fmt.Sprintf("fn-%d", i)
		s.PutFunction(t, "eu-west-1", name, 128)
		ev.Records = append(ev.Records, record(name, "arn:aws:sqs:eu-west-1:123456789012:q", string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name))))
	}
	h := &lambdaruntime.Handler{Batch: s.Handler, StopMargin: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := h.HandleSQS(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 1800*time.Millisecond {
		t.Errorf("the handler answered after %v, past the stop margin before the 2 s deadline", took)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	landed := s.IDs("lambda")
	if len(failed) == 0 || len(landed) == 0 {
		t.Fatalf("%d failed and %v landed; want some of each within the deadline", len(failed), landed)
	}
	for _, id := range landed {
		if failed[id] {
			t.Errorf("%s landed in Port but is reported failed", id)
		}
	}
	if len(failed)+len(landed) < len(ev.Records) {
		t.Errorf("%d failed + %d landed < %d records: a message was lost", len(failed), len(landed), len(ev.Records))
	}
}

func TestUnrecognisedInvocations(t *testing.T) {
	h := &lambdaruntime.Handler{Batch: nil}
	for _, payload := range []string{`[]`, `{"foo": 1}`, `{"Records": [{"eventSource": "aws:s3", "messageId": "x"}]}`} {
		if _, err := h.Invoke(context.Background(), json.RawMessage(payload)); err == nil {
			t.Errorf("invocation %s was accepted", payload)
		}
	}
}
