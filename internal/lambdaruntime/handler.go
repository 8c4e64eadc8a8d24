// Package lambdaruntime is the exporter as an AWS Lambda function: one
// handler that takes the raw invocation payload and dispatches on its shape.
//
//   - An SQS event: each record is an event message or a shard message; the
//     answer's batchItemFailures name exactly the records to redeliver.
//     Permanent failures go to the dead-letter queue with their reason and are
//     not reported as failures (so SQS deletes them from the source queue),
//     unless the dead-letter send itself failed.
//   - A scheduled event ({} or detail-type "Scheduled Event"): a full sync,
//     fanned out as one shard message per shard onto the events queue, so that
//     concurrent invocations run the shards and none meets the 15-minute limit.
//   - Anything else is refused, a shard message invoked directly included: it
//     carries no signature (shard messages are signed SQS messages).
package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/queue"
)

// Environment variables the Lambda reads.
const (
	// EnvQueueURL is the events queue: where the scheduled fan-out sends shard
	// messages, and whose RedrivePolicy names the dead-letter queue.
	EnvQueueURL = "EVENTS_QUEUE_URL"
	// EnvDeadLetterQueueURL overrides the dead-letter queue of the RedrivePolicy.
	EnvDeadLetterQueueURL = "DEAD_LETTER_QUEUE_URL"
	// EnvContinuationStore (s3://bucket/prefix) is where shard runs that
	// continue across invocations keep their state (internal/continuation).
	EnvContinuationStore = "CONTINUATION_STORE"
)

// DefaultStopMargin is how long before the invocation deadline the handler
// stops working on messages, leaving time to dead-letter and answer.
const DefaultStopMargin = 5 * time.Second

// ShardLister lists the shards of a full sync (the controller's Syncer).
type ShardLister interface {
	ShardRequests(ctx context.Context) ([]events.ShardRequest, error)
}

// ShardListerFunc adapts a function to ShardLister.
type ShardListerFunc func(ctx context.Context) ([]events.ShardRequest, error)

func (f ShardListerFunc) ShardRequests(ctx context.Context) ([]events.ShardRequest, error) {
	return f(ctx)
}

// Handler is the Lambda function.
type Handler struct {
	// Batch handles SQS records (event and shard messages).
	Batch queue.Handler
	// Shards lists the shards a scheduled invocation fans out.
	Shards ShardLister
	// ShardKey signs the fan-out's shard messages.
	ShardKey *events.ShardKey
	SQS      *sqs.Client
	// QueueURL is the events queue (EVENTS_QUEUE_URL); when empty it is
	// derived from the first SQS record's eventSourceARN.
	QueueURL string
	// DeadLetterQueueURL overrides the events queue's RedrivePolicy.
	DeadLetterQueueURL string
	StopMargin         time.Duration
	Metrics            *metrics.Metrics
	// EMF, when set, writes the metrics that moved during each invocation as
	// CloudWatch Embedded Metric Format lines into the function's log, at
	// the end of the invocation (Lambda has no /metrics to scrape).
	EMF    *metrics.EMF
	Logger *slog.Logger

	mu          sync.Mutex
	deadLetters map[string]*queue.DeadLetterQueue // by source queue URL, resolved once per container
	queueURLs   map[string]string                 // by eventSourceARN, resolved once per container
}

// NewFromEnvironment fills the queue settings from the Lambda's environment.
func NewFromEnvironment(h *Handler) *Handler {
	if h.QueueURL == "" {
		h.QueueURL = os.Getenv(EnvQueueURL)
	}
	if h.DeadLetterQueueURL == "" {
		h.DeadLetterQueueURL = os.Getenv(EnvDeadLetterQueueURL)
	}
	return h
}

// Start runs the handler under the Lambda runtime API; it does not return.
func Start(h *Handler) { lambda.Start(h.Invoke) }

func (h *Handler) logger(ctx context.Context) *slog.Logger {
	l := h.Logger
	if l == nil {
		l = slog.Default()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		l = l.With("aws_request_id", lc.AwsRequestID)
	}
	return l
}

// payload tells the invocation shapes apart: SQS events have Records,
// EventBridge's scheduled events are CloudWatch events (the library's type).
type payload struct {
	Records []json.RawMessage `json:"Records"`
	lambdaevents.CloudWatchEvent
}

// FanOutResult is the answer of a scheduled invocation.
type FanOutResult struct {
	ShardsSent int `json:"shards_sent"`
}

// Invoke dispatches one invocation on its payload's shape.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	defer func() {
		if err := h.EMF.Flush(); err != nil {
			h.logger(ctx).Warn("metrics: EMF flush failed", "error", err)
		}
	}()
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("invocation payload is not a JSON object: %w", err)
	}
	switch {
	case len(p.Records) > 0:
		var ev lambdaevents.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("invocation has Records but is not an SQS event: %w", err)
		}
		for _, r := range ev.Records {
			if r.EventSource != "aws:sqs" {
				return nil, fmt.Errorf("record %s comes from %q, this function handles only aws:sqs records", r.MessageId, r.EventSource)
			}
		}
		return h.HandleSQS(ctx, ev)
	case p.DetailType == "Scheduled Event" || isEmptyObject(raw):
		return h.FanOut(ctx)
	}
	// A shard message invoked directly has no message attributes, so no
	// signature: it would be refused as forged. Whoever may invoke the
	// function may also send to its queue, which is the supported way.
	return nil, fmt.Errorf("unrecognised invocation: want an SQS event or a scheduled event")
}

func isEmptyObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil && len(m) == 0
}

// workContext ends StopMargin before the invocation's deadline, so that the
// handler stops taking and doing work while there is still time to answer.
func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := h.StopMargin
	if margin <= 0 {
		margin = DefaultStopMargin
	}
	// A short invocation keeps at least half its time for work.
	margin = min(margin, time.Until(deadline)/2)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

// HandleSQS handles one batch of SQS records.
func (h *Handler) HandleSQS(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	log := h.logger(ctx)
	items := make([]dispatch.Item, len(ev.Records))
	received := time.Now()
	records := make(map[string]lambdaevents.SQSMessage, len(ev.Records))
	for i, r := range ev.Records {
		items[i] = dispatch.Item{ID: r.MessageId, Body: []byte(r.Body), Attributes: stringAttributes(r.MessageAttributes), ReceivedAt: received}
		records[r.MessageId] = r
		if sent, ok := epochMillis(r.Attributes["SentTimestamp"]); ok {
			h.Metrics.MessageReceived(time.Since(sent))
		}
	}
	work, cancel := h.workContext(ctx)
	outcomes := h.Batch.HandleBatch(work, items)
	// Work cut off by the deadline comes back after the visibility
	// timeout; work that failed comes back after its backoff.
	interrupted := work.Err() != nil
	cancel()

	var resp lambdaevents.SQSEventResponse
	reported := map[string]bool{}
	fail := func(id string) {
		if !reported[id] {
			reported[id] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: id})
		}
	}
	answered := map[string]bool{}
	for _, o := range outcomes {
		r, ok := records[o.ID]
		if !ok {
			continue
		}
		answered[o.ID] = true
		fate := queue.Settle(log, h.Metrics, o, func() (string, error) {
			dlq, err := h.deadLetterQueue(ctx, r)
			if err != nil {
				return "", err
			}
			return dlq.URL, dlq.Send(ctx, queue.NewDeadLetter(o.ID, r.Body, r.Attributes, o))
		})
		if fate != queue.Done {
			// A failed record is redelivered, never lost: after its backoff
			// when it failed transiently, after the queue's visibility
			// timeout when its dead-letter send failed.
			fail(o.ID)
		}
		if fate == queue.Redeliver && !interrupted {
			h.retryLater(ctx, r)
		}
	}
	// A record without an outcome was not handled: redeliver it.
	for _, r := range ev.Records {
		if !answered[r.MessageId] {
			fail(r.MessageId)
		}
	}
	log.Info("handled SQS batch", "records", len(ev.Records), "failed", len(resp.BatchItemFailures))
	return resp, nil
}

// retryLater makes a record that failed transiently visible again after its
// backoff rather than after the queue's whole visibility timeout. Best
// effort: without it the record still comes back, later.
func (h *Handler) retryLater(ctx context.Context, r lambdaevents.SQSMessage) {
	if h.SQS == nil {
		return
	}
	url, err := h.sourceQueue(ctx, r)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	_, err = h.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: aws.String(r.ReceiptHandle),
		VisibilityTimeout: int32(queue.RetryBackoff(n) / time.Second),
	})
	if err != nil {
		h.logger(ctx).Warn("could not shorten a failed record's visibility; it comes back after the visibility timeout", "message_id", r.MessageId, "error", err)
	}
}

// sourceQueue is the URL of the queue a record came from: QueueURL, or its
// eventSourceARN resolved once per container.
func (h *Handler) sourceQueue(ctx context.Context, r lambdaevents.SQSMessage) (string, error) {
	if h.QueueURL != "" {
		return h.QueueURL, nil
	}
	h.mu.Lock()
	url, ok := h.queueURLs[r.EventSourceARN]
	h.mu.Unlock()
	if ok {
		return url, nil
	}
	url, err := queue.QueueURLFromARN(ctx, h.SQS, r.EventSourceARN)
	if err != nil {
		return "", fmt.Errorf("find the events queue from the record's eventSourceARN (or set %s): %w", EnvQueueURL, err)
	}
	h.mu.Lock()
	if h.queueURLs == nil {
		h.queueURLs = map[string]string{}
	}
	h.queueURLs[r.EventSourceARN] = url
	h.mu.Unlock()
	return url, nil
}

// deadLetterQueue resolves (once per source queue) where permanent failures go.
func (h *Handler) deadLetterQueue(ctx context.Context, r lambdaevents.SQSMessage) (*queue.DeadLetterQueue, error) {
	if h.SQS == nil {
		return nil, errors.New("no SQS client to reach the dead-letter queue")
	}
	source, err := h.sourceQueue(ctx, r)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ok := h.deadLetters[source]; ok {
		return d, nil
	}
	dlqURL := h.DeadLetterQueueURL
	if dlqURL == "" {
		url, err := queue.DiscoverDeadLetterQueue(ctx, h.SQS, source)
		if err != nil {
			return nil, err
		}
		if url == "" {
			return nil, fmt.Errorf("events queue %s has no RedrivePolicy and %s is not set", source, EnvDeadLetterQueueURL)
		}
		dlqURL = url
	}
	d := &queue.DeadLetterQueue{Client: h.SQS, URL: dlqURL, SourceQueueURL: source}
	if h.deadLetters == nil {
		h.deadLetters = map[string]*queue.DeadLetterQueue{}
	}
	h.deadLetters[source] = d
	return d, nil
}

// FanOut sends one shard message per shard of the full sync to the events queue.
func (h *Handler) FanOut(ctx context.Context) (FanOutResult, error) {
	if h.Shards == nil {
		return FanOutResult{}, errors.New("scheduled sync: no shard lister configured")
	}
	if h.QueueURL == "" || h.SQS == nil {
		return FanOutResult{}, fmt.Errorf("scheduled sync fans shards out to the events queue: set %s", EnvQueueURL)
	}
	shards, err := h.Shards.ShardRequests(ctx)
	if err != nil {
		return FanOutResult{}, fmt.Errorf("list shards: %w", err)
	}
	if h.ShardKey == nil {
		return FanOutResult{}, errors.New("scheduled sync: no shard key to sign shard messages with")
	}
	if err := queue.SendShardMessages(ctx, h.SQS, h.QueueURL, h.ShardKey, shards); err != nil {
		return FanOutResult{}, err
	}
	h.logger(ctx).Info("full sync fanned out", "shards", len(shards), "queue", h.QueueURL)
	return FanOutResult{ShardsSent: len(shards)}, nil
}

// stringAttributes keeps the string values of a record's message attributes.
func stringAttributes(attrs map[string]lambdaevents.SQSMessageAttribute) map[string]string {
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

func epochMillis(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
