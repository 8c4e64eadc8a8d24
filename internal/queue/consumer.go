// Package queue is the SQS side of event-based updates for the long-running
// service: a long-poll consumer that hands batches to a handler, deletes only
// what succeeded, keeps slow messages invisible while they are worked on,
// moves permanent failures to a dead-letter queue with their reason, and on
// shutdown finishes or releases what it holds. It also sends the shard
// messages of a fanned-out full sync.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// Handler handles a batch of messages and returns one outcome per item, in
// order. When ctx ends it must return promptly, reporting what it did not
// finish as StatusRetry.
type Handler interface {
	HandleBatch(ctx context.Context, items []dispatch.Item) []dispatch.Outcome
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, items []dispatch.Item) []dispatch.Outcome

func (f HandlerFunc) HandleBatch(ctx context.Context, items []dispatch.Item) []dispatch.Outcome {
	return f(ctx, items)
}

// Defaults of a Consumer.
const (
	DefaultMaxMessages       = 10               // SQS's maximum per ReceiveMessage
	DefaultWaitTime          = 20 * time.Second // SQS's longest long poll
	DefaultVisibilityTimeout = time.Minute
	DefaultGracePeriod       = 25 * time.Second // inside Kubernetes' default 30 s termination grace
	// DefaultPollers keeps enough messages in flight to use Port's request
	// budget: a message costs a GetResource (about 50 ms) and its share of a
	// Port request (about 80 ms), so about 16 must be in flight for 117
	// messages/s, more since a batch waits for its slowest message before the
	// next receive. Four pollers hold up to 40; while one waits on its slowest
	// message or on ReceiveMessage, the others' batches are being worked on.
	DefaultPollers = 4
	// permanentParkTimeout hides a message that failed permanently but could not be
	// dead-lettered, so that it does not spin through the handler while the
	// dead-letter queue is unreachable. It is redelivered afterwards, never lost.
	permanentParkTimeout = 15 * time.Minute
)

// Consumer long-polls one SQS queue.
type Consumer struct {
	Client   *sqs.Client
	QueueURL string
	Handler  Handler
	// DeadLetter receives permanent failures. When nil, Run discovers it from
	// the queue's RedrivePolicy.
	DeadLetter *DeadLetterQueue
	// Pollers is how many receive loops run at once (default DefaultPollers);
	// each holds at most one batch, so Pollers × MaxMessages bounds the
	// messages in flight.
	Pollers     int
	MaxMessages int32
	WaitTime    time.Duration
	// VisibilityTimeout is requested on receive and renewed by heartbeats while
	// a batch is being handled: a crashed consumer's messages reappear this soon.
	VisibilityTimeout time.Duration
	// GracePeriod is how long in-flight batches may run after ctx ends.
	GracePeriod time.Duration
	Metrics     *metrics.Metrics
	Logger      *slog.Logger

	// receiving counts successful polls; Ready reports it.
	mu        sync.Mutex
	lastPoll  time.Time
	lastError error
}

func (c *Consumer) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Consumer) setDefaults() {
	if c.Pollers <= 0 {
		c.Pollers = DefaultPollers
	}
	if c.MaxMessages <= 0 || c.MaxMessages > DefaultMaxMessages {
		c.MaxMessages = DefaultMaxMessages
	}
	if c.WaitTime <= 0 {
		c.WaitTime = DefaultWaitTime
	}
	if c.VisibilityTimeout < time.Second {
		c.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = DefaultGracePeriod
	}
}

// Healthy reports whether the last receive succeeded (for /healthz).
func (c *Consumer) Healthy() (lastPoll time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastPoll, c.lastError
}

func (c *Consumer) recordPoll(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastError = err
	if err == nil {
		c.lastPoll = time.Now()
	}
}

// Run consumes until ctx ends, then stops receiving, lets in-flight batches
// finish within GracePeriod, releases what is left and returns nil. It returns
// an error only when it cannot start.
func (c *Consumer) Run(ctx context.Context) error {
	c.setDefaults()
	if c.Client == nil || c.QueueURL == "" || c.Handler == nil {
		return errors.New("queue consumer needs a client, a queue URL and a handler")
	}
	if c.DeadLetter == nil {
		url, err := DiscoverDeadLetterQueue(ctx, c.Client, c.QueueURL)
		if err != nil {
			return fmt.Errorf("find dead-letter queue: %w", err)
		}
		if url == "" {
			c.logger().Warn("the events queue has no dead-letter queue: messages that fail permanently stay in the queue and are retried every 15 minutes; set a RedrivePolicy or --dead-letter-queue-url",
				"queue", c.QueueURL)
		}
		c.DeadLetter = &DeadLetterQueue{Client: c.Client, URL: url, SourceQueueURL: c.QueueURL}
	}
	if c.DeadLetter.SourceQueueURL == "" {
		c.DeadLetter.SourceQueueURL = c.QueueURL
	}
	c.logger().Info("consuming events queue", "queue", c.QueueURL, "dead_letter_queue", c.DeadLetter.URL,
		"pollers", c.Pollers, "visibility_timeout", c.VisibilityTimeout)

	// work ends GracePeriod after ctx: in-flight handlers keep running that long.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(c.GracePeriod)
		defer t.Stop()
		select {
		case <-t.C:
			cancelWork()
		case <-work.Done():
		}
	})
	defer stopGrace()

	var wg sync.WaitGroup
	for range c.Pollers {
		wg.Go(func() { c.poll(ctx, work) })
	}
	wg.Wait()
	return nil
}

// poll receives batches until ctx ends; work is the context of handling.
func (c *Consumer) poll(ctx, work context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		// The long poll runs on the work context, not ctx: cancelling a
		// ReceiveMessage in flight can leave messages SQS has already handed
		// out invisible for the whole visibility timeout. A poll that ends
		// after shutdown began releases what it got at once instead.
		out, err := c.Client.ReceiveMessage(work, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.QueueURL),
			MaxNumberOfMessages:         c.MaxMessages,
			WaitTimeSeconds:             int32(c.WaitTime / time.Second),
			VisibilityTimeout:           int32(c.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			// Shard messages carry their signature as a message attribute,
			// verifications their mark.
			MessageAttributeNames: []string{events.SignatureAttribute, dispatch.VerificationAttribute},
		})
		if err != nil {
			if ctx.Err() != nil || work.Err() != nil {
				return
			}
			c.recordPoll(err)
			c.logger().Error("receive from events queue failed", "queue", c.QueueURL, "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		c.recordPoll(nil)
		backoff = time.Second
		if len(out.Messages) > 0 && ctx.Err() != nil {
			settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.changeVisibility(settle, out.Messages, 0)
			cancel()
			c.logger().Info("released messages received during shutdown", "messages", len(out.Messages))
			return
		}
		if len(out.Messages) > 0 {
			c.handle(ctx, work, out.Messages)
		}
	}
}

// handle runs one received batch through the handler and settles every message.
func (c *Consumer) handle(ctx, work context.Context, msgs []types.Message) {
	c.Metrics.InFlight(len(msgs))
	defer c.Metrics.InFlight(-len(msgs))
	items := make([]dispatch.Item, len(msgs))
	byID := make(map[string]types.Message, len(msgs))
	received := time.Now()
	for i, m := range msgs {
		id := aws.ToString(m.MessageId)
		items[i] = dispatch.Item{ID: id, Body: []byte(aws.ToString(m.Body)), Attributes: stringAttributes(m.MessageAttributes), ReceivedAt: received}
		byID[id] = m
		if sent, ok := epochMillis(m.Attributes, types.MessageSystemAttributeNameSentTimestamp); ok {
			c.Metrics.MessageReceived(time.Since(sent))
		}
	}

	hbCtx, stopHeartbeat := context.WithCancel(work)
	var hb sync.WaitGroup
	hb.Go(func() { c.heartbeat(hbCtx, msgs) })
	outcomes := c.Handler.HandleBatch(work, items)
	stopHeartbeat()
	hb.Wait()

	// Settling must happen even after ctx ended (that is the point of the
	// grace period), so it gets its own short deadline instead.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	interrupted := work.Err() != nil || ctx.Err() != nil
	var done, release, retry []types.Message
	seen := map[string]bool{}
	for _, o := range outcomes {
		m, ok := byID[o.ID]
		if !ok || seen[o.ID] {
			continue
		}
		seen[o.ID] = true
		switch Settle(c.logger(), c.Metrics, o, func() (string, error) {
			return c.DeadLetter.URL, c.DeadLetter.Send(settle, NewDeadLetter(o.ID, aws.ToString(m.Body), m.Attributes, o))
		}) {
		case Done:
			done = append(done, m)
		case Park:
			c.changeVisibility(settle, []types.Message{m}, permanentParkTimeout)
		case Redeliver:
			if interrupted {
				c.logger().Info("releasing unfinished message for redelivery", "message_id", o.ID)
				release = append(release, m)
				continue
			}
			// It failed, and the exporter knows it: it comes back after its
			// backoff, not after the whole visibility timeout.
			retry = append(retry, m)
		}
	}
	// A message the handler did not report on is released, never deleted.
	for _, m := range msgs {
		if !seen[aws.ToString(m.MessageId)] {
			release = append(release, m)
		}
	}
	c.delete(settle, done)
	c.changeVisibility(settle, release, 0)
	// One request per backoff, not per message: a failed batch shares its
	// receive counts more often than not.
	byBackoff := map[time.Duration][]types.Message{}
	for _, m := range retry {
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		d := min(RetryBackoff(n), c.VisibilityTimeout)
		byBackoff[d] = append(byBackoff[d], m)
	}
	for d, msgs := range byBackoff {
		c.changeVisibility(settle, msgs, d)
	}
}

// RetryBackoff is how long a message that failed transiently on its n-th
// receive stays invisible before SQS hands it out again: 1, 2, 4, ... seconds,
// at most a minute, so that after an outage nothing waits longer than the
// visibility timeout would have made it (callers cap it at theirs; the
// queue's redrive policy bounds how often a message comes back).
func RetryBackoff(receiveCount int) time.Duration {
	if receiveCount < 1 {
		receiveCount = 1
	}
	return min(time.Second<<min(receiveCount-1, 6), time.Minute)
}

// heartbeat keeps a batch's messages invisible while the handler works on
// them, renewing the visibility timeout at a third of its length.
func (c *Consumer) heartbeat(ctx context.Context, msgs []types.Message) {
	t := time.NewTicker(max(c.VisibilityTimeout/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.changeVisibility(ctx, msgs, c.VisibilityTimeout)
		}
	}
}

// changeVisibility sets the visibility timeout of messages; 0 releases them
// for immediate redelivery.
func (c *Consumer) changeVisibility(ctx context.Context, msgs []types.Message, timeout time.Duration) {
	for chunk := range slices.Chunk(msgs, 10) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				ReceiptHandle:     m.ReceiptHandle,
				VisibilityTimeout: int32(timeout / time.Second),
			}
		}
		out, err := c.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(c.QueueURL), Entries: entries,
		})
		if err != nil {
			if ctx.Err() == nil {
				c.logger().Error("change message visibility failed", "queue", c.QueueURL, "messages", len(chunk), "error", err)
			}
			continue
		}
		for _, f := range out.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			c.logger().Warn("change message visibility refused", "message_id", aws.ToString(chunk[i].MessageId),
				"code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
		}
	}
}

// delete removes handled messages, retrying entries SQS failed on its side once.
func (c *Consumer) delete(ctx context.Context, msgs []types.Message) {
	for chunk := range slices.Chunk(msgs, 10) {
		pending := chunk
		for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
			entries := make([]types.DeleteMessageBatchRequestEntry, len(pending))
			for i, m := range pending {
				entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
			}
			out, err := c.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.QueueURL), Entries: entries})
			if err != nil {
				// The messages reappear after their visibility timeout and are
				// handled again: reconciling is idempotent, so this costs work, not data.
				c.logger().Error("delete handled messages failed; they will be redelivered", "queue", c.QueueURL, "messages", len(pending), "error", err)
				pending = nil
				break
			}
			var retry []types.Message
			for _, f := range out.Failed {
				i, _ := strconv.Atoi(aws.ToString(f.Id))
				m := pending[i]
				c.logger().Warn("delete of a handled message refused", "message_id", aws.ToString(m.MessageId),
					"code", aws.ToString(f.Code), "sender_fault", f.SenderFault, "error", aws.ToString(f.Message))
				if !f.SenderFault {
					retry = append(retry, m)
				}
			}
			pending = retry
		}
	}
}

// Fate is what becomes of a handled message on its queue.
type Fate int

const (
	// Done: remove it from the events queue (handled, or dead-lettered).
	Done Fate = iota
	// Redeliver: leave it for SQS to hand out again.
	Redeliver
	// Park: a permanent failure whose dead-letter send failed: keep it, out
	// of sight for a while, so that it is never lost.
	Park
)

// Settle decides a handled message's fate from its outcome, sending it to
// the dead-letter queue (send) when it failed permanently, and logs and
// counts what happened. serve and the Lambda settle through it alike; each
// then does what its runtime does for the fate (delete or report nothing,
// release or report a batch item failure).
func Settle(log *slog.Logger, m *metrics.Metrics, o dispatch.Outcome, send func() (deadLetterURL string, err error)) Fate {
	switch o.Status {
	case dispatch.StatusOK:
		return Done
	case dispatch.StatusDeadLetter:
		// The handler logged why; this logs where the message went.
		url, err := send()
		if err != nil {
			log.Error("dead-letter send failed; the message stays in the queue", "message_id", o.ID, "reason", o.Reason, "error", err)
			return Park
		}
		log.Info("message moved to the dead-letter queue", "message_id", o.ID, "reason", o.Reason, "dead_letter_queue", url)
		m.DeadLettered(o.Reason)
		return Done
	}
	return Redeliver
}

// stringAttributes keeps the string values of SQS message attributes.
func stringAttributes(attrs map[string]types.MessageAttributeValue) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if v.StringValue != nil {
			out[k] = *v.StringValue
		}
	}
	return out
}

// NewDeadLetter builds the dead letter of a message from its id, body, SQS
// system attributes (as ReceiveMessage and Lambda's SQS records carry them)
// and the outcome that condemned it.
func NewDeadLetter(id, body string, systemAttrs map[string]string, o dispatch.Outcome) DeadLetter {
	dl := DeadLetter{MessageID: id, Body: body, Reason: o.Reason, Err: o.Err}
	if t, ok := epochMillis(systemAttrs, types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp); ok {
		dl.FirstSeen = t
	} else if t, ok := epochMillis(systemAttrs, types.MessageSystemAttributeNameSentTimestamp); ok {
		dl.FirstSeen = t
	}
	if n, err := strconv.Atoi(systemAttrs[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		dl.ReceiveCount = n
	}
	return dl
}

// epochMillis reads an SQS timestamp attribute (milliseconds since the epoch).
func epochMillis(attrs map[string]string, name types.MessageSystemAttributeName) (time.Time, bool) {
	ms, err := strconv.ParseInt(attrs[string(name)], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
