package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
)

// OrgLambdaSettings shape the Lambda side of the organization scenario.
type OrgLambdaSettings struct {
	// Containers is how many Lambda execution environments run the
	// function: each an exporter of its own (its own credentials cache,
	// pacers and Port client, as separate containers have), each taking
	// one invocation at a time, as Lambda runs them. 0 means 1.
	Containers int
	// Timeout is the function's timeout (the deployed stack's 900 s when 0).
	Timeout time.Duration
	// Deadline bounds the whole run (30 minutes when 0).
	Deadline time.Duration
	// Memory hands the shard messages to the containers from memory
	// instead of through SQS: container 0 lists the shards with the
	// fan-out's lister and signs each with the fan-out's key, as FanOut
	// does, and the containers take them ten at a time as SQS records
	// into Invoke. It measures the exporter's side without moto's SQS,
	// which is slower than the bound (FanOut itself is not run).
	Memory bool
}

// OrgLambdaRun is what the Lambda side reports: Shards is the shard
// messages the scheduled invocation sent; Failed those dead-lettered or
// never settled.
type OrgLambdaRun struct {
	ExporterRun
	Containers int           `json:"containers"`
	FanOut     time.Duration `json:"fanOut"`
	// FanOutListing is the part of FanOut spent resolving the
	// organization and listing the shards (the rest sends the messages).
	FanOutListing time.Duration `json:"fanOutListing"`
	// SettledAtFanOut is how many shard messages were settled when the
	// fan-out returned (the containers take them while it still sends).
	SettledAtFanOut int `json:"settledAtFanOut"`
	Invocations     int `json:"invocations"`
	// Retried counts outcomes that asked for redelivery (a transient
	// failure); DeadLettered the permanent ones.
	Retried      int `json:"retried"`
	DeadLettered int `json:"deadLettered"`
}

// RunOrgLambda is the organization sync through the product's Lambda path:
// container 0 gets the scheduled invocation ({}), whose FanOut resolves the
// organization and sends one signed shard message per (account, region,
// kind) to the events queue; every container then plays the SQS event
// source mapping: ReceiveMessage (10), the records as the SQS event Lambda
// would pass to Invoke, and DeleteMessageBatch of the records the answer's
// batchItemFailures do not name. The exporters are wired by exporter.Build
// with the binary's defaults (no rate flag), as the lambda command wires
// them; only the Prometheus/EMF metrics and write verifications are left
// out (neither changes what a shard reads or writes).
func RunOrgLambda(ctx context.Context, ep Endpoints, set OrgLambdaSettings, log *slog.Logger) (OrgLambdaRun, error) {
	set.Containers = max(1, set.Containers)
	if set.Timeout <= 0 {
		set.Timeout = 900 * time.Second
	}
	if set.Deadline <= 0 {
		set.Deadline = 30 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, set.Deadline)
	defer cancel()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tally := &outcomeTally{settled: map[string]bool{}}
	type container struct {
		h   *lambdaruntime.Handler
		sqs *sqs.Client
	}
	containers := make([]container, set.Containers)
	var listing time.Duration // container 0's, in its fan-out
	for i := range containers {
		syncSettings, evs := cli.SyncDefaults(), cli.EventDefaults()
		b, cleanup, err := Build(ctx, ep, syncSettings, &evs, log.With("container", i))
		if err != nil {
			return OrgLambdaRun{}, fmt.Errorf("container %d: %w", i, err)
		}
		defer cleanup()
		client := sqs.NewFromConfig(b.AWS)
		containers[i] = container{sqs: client, h: &lambdaruntime.Handler{
			Batch: tally.wrap(b.Events), Shards: shardLister(b, &listing), ShardKey: b.ShardKey, SQS: client,
			QueueURL: ep.QueueURL, DeadLetterQueueURL: ep.DeadLetterURL, Logger: log.With("container", i),
		}}
	}

	run := OrgLambdaRun{Containers: set.Containers}
	var sent atomic.Int64
	sent.Store(-1) // until the fan-out returns
	var invocations atomic.Int64
	start := time.Now()
	errs := make(chan error, set.Containers)
	var wg sync.WaitGroup
	var memory chan lambdaevents.SQSMessage
	if set.Memory {
		memory = make(chan lambdaevents.SQSMessage, 1<<16)
	}
	for i, c := range containers {
		wg.Go(func() {
			if i == 0 && set.Memory {
				n, err := memoryFanOut(ctx, c.h, memory)
				run.FanOut, run.FanOutListing, run.SettledAtFanOut = time.Since(start), listing, tally.settledCount()
				if err != nil {
					errs <- fmt.Errorf("fan-out from memory: %w", err)
					cancel()
				}
				sent.Store(int64(n))
			} else if i == 0 {
				out, err := c.h.Invoke(ctx, json.RawMessage(`{}`))
				run.FanOut, run.FanOutListing, run.SettledAtFanOut = time.Since(start), listing, tally.settledCount()
				if err != nil {
					errs <- fmt.Errorf("scheduled invocation: %w", err)
					sent.Store(0)
					cancel()
					return
				}
				sent.Store(int64(out.(lambdaruntime.FanOutResult).ShardsSent))
			}
			for {
				if n := sent.Load(); n >= 0 && tally.settledCount() >= int(n) {
					return
				}
				if ctx.Err() != nil {
					return
				}
				var got int
				var err error
				if set.Memory {
					got, err = pollMemory(ctx, c.h, memory, set.Timeout)
				} else {
					got, err = poll(ctx, c.sqs, c.h, ep.QueueURL, set.Timeout)
				}
				invocations.Add(int64(got))
				if err != nil && ctx.Err() == nil {
					log.Warn("event source mapping", "container", i, "error", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	run.Wall = tally.last().Sub(start)
	run.Invocations = int(invocations.Load())
	run.Shards = int(sent.Load())
	run.Retried, run.DeadLettered = tally.counts()
	run.Failed = run.DeadLettered + max(0, run.Shards-tally.settledCount())
	run.Listed, run.Upserted = tally.sums()
	run.Errors = tally.errors()
	peak, rssErr := PeakRSS()
	run.PeakRSS = peak
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	if err == nil && ctx.Err() != nil && tally.settledCount() < run.Shards {
		err = fmt.Errorf("%d of %d shard messages settled by the deadline (%s)", tally.settledCount(), run.Shards, set.Deadline)
	}
	if err != nil {
		return run, err
	}
	return run, rssErr
}

// poll is one turn of the event source mapping: receive up to ten
// records, invoke the function with them, delete what it did not report as
// failed. It returns 1 when it invoked the function.
func poll(ctx context.Context, client *sqs.Client, h *lambdaruntime.Handler, queueURL string, timeout time.Duration) (int, error) {
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil || len(out.Messages) == 0 {
		return 0, err
	}
	ev := lambdaevents.SQSEvent{Records: make([]lambdaevents.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		r := lambdaevents.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:" + AccountID + ":org-bench-events", AWSRegion: "us-east-1",
			MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{},
		}
		for k, v := range m.MessageAttributes {
			r.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
		}
		ev.Records[i] = r
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encode the SQS event: %w", err)
	}
	invCtx, cancel := context.WithTimeout(ctx, timeout)
	answer, err := h.Invoke(invCtx, raw)
	cancel()
	if err != nil {
		return 1, fmt.Errorf("invocation failed (its records come back after the visibility timeout): %w", err)
	}
	failed := map[string]bool{}
	if resp, ok := answer.(lambdaevents.SQSEventResponse); ok {
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(entries) > 0 {
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries}); err != nil {
			return 1, fmt.Errorf("delete handled records: %w", err)
		}
	}
	return 1, nil
}

// memoryFanOut lists and signs the shard messages as FanOut does and
// queues them in memory as SQS records.
func memoryFanOut(ctx context.Context, h *lambdaruntime.Handler, out chan<- lambdaevents.SQSMessage) (int, error) {
	reqs, err := h.Shards.ShardRequests(ctx)
	if err != nil {
		return 0, err
	}
	for i, r := range reqs {
		body, attrs, err := h.ShardKey.ShardMessage(r)
		if err != nil {
			return i, err
		}
		rec := lambdaevents.SQSMessage{
			MessageId: fmt.Sprintf("memory-%06d", i), ReceiptHandle: fmt.Sprintf("memory-%06d", i), Body: string(body),
			Attributes:  map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:" + AccountID + ":org-bench-events", AWSRegion: "us-east-1",
			MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{},
		}
		for k, v := range attrs {
			rec.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: aws.String(v), DataType: "String"}
		}
		select {
		case out <- rec:
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
	return len(reqs), nil
}

// pollMemory takes up to ten waiting records (waiting up to a second for
// the first) and invokes the function with them; a record it reports as
// failed is queued again.
func pollMemory(ctx context.Context, h *lambdaruntime.Handler, in chan lambdaevents.SQSMessage, timeout time.Duration) (int, error) {
	var ev lambdaevents.SQSEvent
	select {
	case r := <-in:
		ev.Records = append(ev.Records, r)
	case <-time.After(time.Second):
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
fill:
	for len(ev.Records) < 10 {
		select {
		case r := <-in:
			ev.Records = append(ev.Records, r)
		default:
			break fill
		}
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encode the SQS event: %w", err)
	}
	invCtx, cancel := context.WithTimeout(ctx, timeout)
	answer, err := h.Invoke(invCtx, raw)
	cancel()
	if err != nil {
		for _, r := range ev.Records {
			in <- r
		}
		return 1, fmt.Errorf("invocation failed (its records are queued again): %w", err)
	}
	if resp, ok := answer.(lambdaevents.SQSEventResponse); ok {
		for _, f := range resp.BatchItemFailures {
			for _, r := range ev.Records {
				if r.MessageId == f.ItemIdentifier {
					in <- r
				}
			}
		}
	}
	return 1, nil
}

// shardLister is the lambda command's: the scheduled fan-out starts a full
// sync, so the organization's accounts are resolved again first. (The
// command's own is in package main; this is the same two calls.) took
// receives how long the last listing took.
func shardLister(b *exporter.Built, took *time.Duration) lambdaruntime.ShardListerFunc {
	return func(ctx context.Context) ([]events.ShardRequest, error) {
		start := time.Now()
		defer func() { *took = time.Since(start) }()
		if err := b.Controller.RefreshAccounts(ctx); err != nil {
			return nil, err
		}
		return dispatch.ShardRequests(b.Controller)
	}
}

// outcomeTally counts the handler's outcomes per SQS message: a message
// is settled once it was handled (or dead-lettered) and stays so on a
// redelivery.
type outcomeTally struct {
	mu           sync.Mutex
	settled      map[string]bool
	retried      int
	deadLettered int
	// listed and upserted sum the shard summaries of settled messages.
	listed, upserted int
	errs             []string
	at               time.Time
}

type tallyHandler struct {
	t    *outcomeTally
	next *dispatch.Handler
}

func (t *outcomeTally) wrap(h *dispatch.Handler) tallyHandler { return tallyHandler{t: t, next: h} }

func (th tallyHandler) HandleBatch(ctx context.Context, items []dispatch.Item) []dispatch.Outcome {
	out := th.next.HandleBatch(ctx, items)
	t := th.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range out {
		switch o.Status {
		case dispatch.StatusOK:
			if r := o.Report; r != nil && r.ShardSummary != nil && !t.settled[o.ID] {
				t.listed += r.ShardSummary.Listed
				t.upserted += r.ShardSummary.Upserted
			}
			t.settled[o.ID] = true
		case dispatch.StatusDeadLetter:
			t.settled[o.ID] = true
			t.deadLettered++
		default:
			t.retried++
		}
		if o.Err != nil && len(t.errs) < 5 {
			t.errs = append(t.errs, o.Err.Error())
		}
	}
	t.at = time.Now()
	return out
}

func (t *outcomeTally) settledCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.settled)
}

func (t *outcomeTally) counts() (retried, deadLettered int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.retried, t.deadLettered
}

func (t *outcomeTally) sums() (listed, upserted int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.listed, t.upserted
}

func (t *outcomeTally) errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errs...)
}

func (t *outcomeTally) last() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.at
}
