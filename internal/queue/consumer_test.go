package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/output"
)

const region = "eu-west-1"

// sqsOnMoto returns a real SQS client talking to moto_server.
func sqsOnMoto(t *testing.T) *sqs.Client {
	t.Helper()
	srv := moto.Start(t)
	return sqs.NewFromConfig(srv.AWSConfig(context.Background(), region))
}

func createQueue(t *testing.T, client *sqs.Client, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue arn of %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl), a.Attributes[string(types.QueueAttributeNameQueueArn)]
}

func send(t *testing.T, client *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatalf("send %q: %v", b, err)
		}
	}
}

// drain receives every visible message (short polls until one comes back empty twice).
func drain(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	empty := 0
	for empty < 2 {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		all = append(all, out.Messages...)
	}
	return all
}

func queueCounts(t *testing.T, client *sqs.Client, url string) (visible, inFlight int) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatalf("queue attributes of %s: %v", url, err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight
}

// scriptedHandler decides by the message body's prefix:
// ok: succeeds; perm: fails permanently; flaky: fails transiently the first
// time it is seen; slow:<ms>: succeeds after sleeping; block: waits for ctx.
type scriptedHandler struct {
	mu    sync.Mutex
	seen  map[string]int
	order []string
}

func (h *scriptedHandler) HandleBatch(ctx context.Context, items []dispatch.Item) []dispatch.Outcome {
	out := make([]dispatch.Outcome, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { out[i] = h.handle(ctx, it) })
	}
	wg.Wait()
	return out
}

func (h *scriptedHandler) handle(ctx context.Context, it dispatch.Item) dispatch.Outcome {
	body := string(it.Body)
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	h.seen[body]++
	n := h.seen[body]
	h.order = append(h.order, body)
	h.mu.Unlock()
	switch {
	case strings.HasPrefix(body, "perm"):
		return dispatch.Outcome{ID: it.ID, Status: dispatch.StatusDeadLetter, Reason: "malformed_json", Err: errors.New("not JSON")}
	case strings.HasPrefix(body, "flaky") && n == 1:
		return dispatch.Outcome{ID: it.ID, Status: dispatch.StatusRetry, Err: errors.New("Port answered 503")}
	case strings.HasPrefix(body, "slow:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(body, "slow:"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return dispatch.Outcome{ID: it.ID, Status: dispatch.StatusRetry, Err: ctx.Err()}
		}
	case strings.HasPrefix(body, "block"):
		<-ctx.Done()
		return dispatch.Outcome{ID: it.ID, Status: dispatch.StatusRetry, Err: ctx.Err()}
	}
	return dispatch.Outcome{ID: it.ID, Status: dispatch.StatusOK}
}

func (h *scriptedHandler) count(body string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[body]
}

func runConsumer(t *testing.T, c *queue.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("consumer: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("consumer did not stop within 30 s of cancel")
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConsumerSettlesEachOutcome(t *testing.T) {
	client := sqsOnMoto(t)
	dlqURL, dlqARN := createQueue(t, client, "settle-dlq", nil)
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`, dlqARN)
	srcURL, _ := createQueue(t, client, "settle-src", map[string]string{"RedrivePolicy": policy})
	send(t, client, srcURL, "ok:1", "ok:2", "perm:1", "flaky:1")

	h := &scriptedHandler{}
	// DeadLetter is left nil: the consumer must find the DLQ from the RedrivePolicy.
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, WaitTime: time.Second, VisibilityTimeout: 2 * time.Second}
	stop := runConsumer(t, c)
	// flaky:1 fails once, stays invisible for the visibility timeout, is redelivered and succeeds.
	waitFor(t, "the flaky message to be redelivered and handled", 20*time.Second, func() bool { return h.count("flaky:1") >= 2 })
	waitFor(t, "the source queue to empty", 10*time.Second, func() bool {
		v, f := queueCounts(t, client, srcURL)
		return v == 0 && f == 0
	})
	stop()

	for _, body := range []string{"ok:1", "ok:2", "perm:1"} {
		if n := h.count(body); n != 1 {
			t.Errorf("%s handled %d times, want once (deleted after success or dead-lettering)", body, n)
		}
	}
	dead := drain(t, client, dlqURL)
	if len(dead) != 1 {
		t.Fatalf("dead-letter queue holds %d messages, want 1", len(dead))
	}
	m := dead[0]
	if aws.ToString(m.Body) != "perm:1" {
		t.Errorf("dead letter body %q, want the original body", aws.ToString(m.Body))
	}
	want := map[string]string{queue.AttrReason: "malformed_json", queue.AttrError: "not JSON", queue.AttrSourceQueue: srcURL, queue.AttrReceiveCount: "1"}
	for name, v := range want {
		if got := aws.ToString(m.MessageAttributes[name].StringValue); got != v {
			t.Errorf("dead letter attribute %s = %q, want %q", name, got, v)
		}
	}
	if aws.ToString(m.MessageAttributes[queue.AttrOriginalMessageID].StringValue) == "" {
		t.Error("dead letter has no original message id")
	}
	first, err := time.Parse(time.RFC3339Nano, aws.ToString(m.MessageAttributes[queue.AttrFirstSeen].StringValue))
	if err != nil || time.Since(first) > time.Minute || time.Since(first) < 0 {
		t.Errorf("dead letter first-seen %q (%v), want a recent time", aws.ToString(m.MessageAttributes[queue.AttrFirstSeen].StringValue), err)
	}
}

func TestConsumerHeartbeatKeepsSlowMessagesInvisible(t *testing.T) {
	client := sqsOnMoto(t)
	srcURL, _ := createQueue(t, client, "heartbeat-src", nil)
	dlqURL, _ := createQueue(t, client, "heartbeat-dlq", nil)
	send(t, client, srcURL, "slow:5000")

	h := &scriptedHandler{}
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, WaitTime: time.Second, VisibilityTimeout: 2 * time.Second,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL}}
	stop := runConsumer(t, c)
	defer stop()
	waitFor(t, "the slow message to be picked up", 10*time.Second, func() bool { return h.count("slow:5000") == 1 })
	// Without heartbeats the 2 s visibility timeout would expire during the 5 s of work.
	time.Sleep(3500 * time.Millisecond)
	if v, _ := queueCounts(t, client, srcURL); v != 0 {
		t.Fatalf("slow message became visible again while being handled (%d visible)", v)
	}
	waitFor(t, "the slow message to be deleted", 10*time.Second, func() bool {
		v, f := queueCounts(t, client, srcURL)
		return v == 0 && f == 0
	})
	if n := h.count("slow:5000"); n != 1 {
		t.Fatalf("slow message handled %d times, want once", n)
	}
}

func TestConsumerShutdownFinishesOrReleases(t *testing.T) {
	client := sqsOnMoto(t)
	srcURL, _ := createQueue(t, client, "shutdown-src", map[string]string{"VisibilityTimeout": "600"})
	dlqURL, _ := createQueue(t, client, "shutdown-dlq", nil)
	send(t, client, srcURL, "slow:300", "block")

	h := &scriptedHandler{}
	var logs output.Buffer
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, WaitTime: time.Second, VisibilityTimeout: 600 * time.Second,
		GracePeriod: 1500 * time.Millisecond, DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	stop := runConsumer(t, c)
	waitFor(t, "both messages to be in flight", 15*time.Second, func() bool { return h.count("slow:300") == 1 && h.count("block") == 1 })
	start := time.Now()
	stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %v, want about the 1.5 s grace period", took)
	}
	// slow:300 finished within the grace period and was deleted; block was
	// released (visibility 0) and is visible again at once, although the
	// queue's visibility timeout is 10 minutes.
	left := drain(t, client, srcURL)
	if len(left) != 1 || aws.ToString(left[0].Body) != "block" {
		var bodies []string
		for _, m := range left {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		t.Fatalf("after shutdown the queue shows %v, want only the released [block]", bodies)
	}
	// A clean stop is not an error.
	if out := logs.String(); strings.Contains(out, "level=ERROR") {
		t.Errorf("a clean shutdown logged errors:\n%s", out)
	}
}

func TestConsumerKeepsMessageWhenDeadLetterSendFails(t *testing.T) {
	client := sqsOnMoto(t)
	srcURL, _ := createQueue(t, client, "nodlq-src", nil)
	send(t, client, srcURL, "perm:lost?")

	h := &scriptedHandler{}
	missing := strings.TrimSuffix(srcURL, "nodlq-src") + "no-such-queue"
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, WaitTime: time.Second, VisibilityTimeout: 2 * time.Second,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: missing}}
	stop := runConsumer(t, c)
	waitFor(t, "the message to be handled", 10*time.Second, func() bool { return h.count("perm:lost?") == 1 })
	time.Sleep(time.Second) // let the consumer settle
	stop()
	visible, inFlight := queueCounts(t, client, srcURL)
	if visible+inFlight != 1 {
		t.Fatalf("after a failed dead-letter send the source queue holds %d messages, want the 1 kept", visible+inFlight)
	}
	if inFlight != 1 {
		t.Errorf("the undeliverable message is visible again at once (%d in flight), want it parked", inFlight)
	}
}

// TestRedrivePolicyMovesRepeatedFailures checks the other path to the DLQ:
// a message that keeps failing transiently is moved by SQS itself after
// maxReceiveCount receives, without the consumer deciding anything.
func TestRedrivePolicyMovesRepeatedFailures(t *testing.T) {
	client := sqsOnMoto(t)
	dlqURL, dlqARN := createQueue(t, client, "redrive-dlq", nil)
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlqARN)
	srcURL, _ := createQueue(t, client, "redrive-src", map[string]string{"RedrivePolicy": policy})
	send(t, client, srcURL, "always-fails")

	h := queue.HandlerFunc(func(ctx context.Context, items []dispatch.Item) []dispatch.Outcome {
		out := make([]dispatch.Outcome, len(items))
		for i, it := range items {
			out[i] = dispatch.Outcome{ID: it.ID, Status: dispatch.StatusRetry, Err: errors.New("AWS throttled")}
		}
		return out
	})
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, WaitTime: time.Second, VisibilityTimeout: time.Second}
	stop := runConsumer(t, c)
	waitFor(t, "SQS to move the message to the DLQ", 20*time.Second, func() bool {
		v, _ := queueCounts(t, client, dlqURL)
		return v == 1
	})
	stop()
	if v, f := queueCounts(t, client, srcURL); v+f != 0 {
		t.Fatalf("source queue still holds %d messages", v+f)
	}
}

func TestSendShardMessages(t *testing.T) {
	client := sqsOnMoto(t)
	url, _ := createQueue(t, client, "fanout", nil)
	key, err := events.NewShardKey("queue test: the secret shard messages are signed with")
	if err != nil {
		t.Fatal(err)
	}
	var reqs []events.ShardRequest
	for i := range 23 {
		reqs = append(reqs, events.ShardRequest{Shard: source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: fmt.Sprintf("AWS::Test::Kind%d", i)}})
	}
	if err := queue.SendShardMessages(context.Background(), client, url, key, reqs); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range drain(t, client, url) {
		attrs := map[string]string{}
		for k, v := range m.MessageAttributes {
			attrs[k] = aws.ToString(v.StringValue)
		}
		// Through SQS and back, the signature still verifies the body.
		msg, err := events.Parse([]byte(aws.ToString(m.Body)), attrs, key)
		if err != nil || msg.Shard == nil {
			raw, _ := json.Marshal(aws.ToString(m.Body))
			t.Fatalf("queued body %s is not a signed shard message: %v", raw, err)
		}
		got[msg.Shard.Shard.Kind] = true
	}
	if len(got) != len(reqs) {
		t.Fatalf("queue holds %d distinct shard messages, want %d", len(got), len(reqs))
	}

	err = queue.SendShardMessages(context.Background(), client, strings.TrimSuffix(url, "fanout")+"missing", key, reqs[:1])
	if err == nil || !strings.Contains(err.Error(), "1 of 1 not sent") {
		t.Fatalf("sending to a missing queue: %v, want an error naming the unsent shard", err)
	}
}

func TestDeadLetterToFIFOQueue(t *testing.T) {
	client := sqsOnMoto(t)
	url, _ := createQueue(t, client, "dead.fifo", map[string]string{"FifoQueue": "true"})
	dlq := &queue.DeadLetterQueue{Client: client, URL: url, SourceQueueURL: "src"}
	for range 2 { // the second send is a duplicate SQS drops
		if err := dlq.Send(context.Background(), queue.DeadLetter{MessageID: "m-1", Body: "x", Reason: "malformed_json", Err: errors.New("bad")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := drain(t, client, url); len(got) != 1 || aws.ToString(got[0].MessageAttributes[queue.AttrReason].StringValue) != "malformed_json" {
		t.Fatalf("FIFO dead-letter queue holds %d messages, want 1 with its reason", len(got))
	}
}
