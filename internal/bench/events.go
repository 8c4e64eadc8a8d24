package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/queue"
)

// EventSettings are the consumer's knobs; zero values take serve's defaults
// (one poller, batches of 10, dispatch.DefaultConcurrency per batch).
type EventSettings struct {
	Pollers     int
	Concurrency int
	// PortRequestsPerSecond is the Port client's pace: 0 paces at the
	// scenario's Port rate (as a user sets --port-requests-per-second),
	// negative leaves the client unpaced (only 429s slow it down).
	PortRequestsPerSecond float64
	Logger                *slog.Logger
}

// EventsResult is the events scenario's figures.
type EventsResult struct {
	// Delivery is how messages reached the handler: "sqs" or "memory".
	Delivery string `json:"delivery"`
	Messages int    `json:"messages"`
	// Backlog: every message queued before the consumer starts. Wall runs
	// from the consumer's start to the last Port write.
	Wall       time.Duration `json:"wall"`
	Throughput float64       `json:"throughput"`
	// Bound is the messages per second the limits allow: each message is one
	// GetResource in its region and one Port request.
	Bound float64 `json:"bound"`
	Share float64 `json:"share"`
	// Steady: messages sent one at a time below the bound; from receipt by
	// the handler to the Port write, and from SendMessage to the Port write.
	SteadyMessages    int           `json:"steadyMessages"`
	ReceiptToWriteP50 time.Duration `json:"receiptToWriteP50"`
	ReceiptToWriteP99 time.Duration `json:"receiptToWriteP99"`
	SendToWriteP50    time.Duration `json:"sendToWriteP50"`
	SendToWriteP99    time.Duration `json:"sendToWriteP99"`
	Traffic
	Settings struct {
		Pollers     int `json:"pollers"`
		Concurrency int `json:"concurrency"`
	} `json:"settings"`
}

// eventTarget is the resource one message names.
type eventTarget struct{ kind, region, id string }

// eventMessage is an events-queue message about one generated resource, in
// the contract of Port's exporter: jq expressions evaluated on the message.
func eventMessage(kind, region, identifier string) string {
	b, _ := json.Marshal(map[string]string{ // strings only: cannot fail
		"name":          identifier,
		"resource_type": kind,
		"region":        strconv.Quote(region),
		"identifier":    ".name",
		"action":        `"upsert"`,
	})
	return string(b)
}

// SteadyRate is the messages per second of the latency phase.
const SteadyRate = 5

// Delivery hands queue messages to the events handler: through SQS
// (queue.Consumer, as serve does) or straight from memory, which measures
// the exporter's side alone when the SQS emulator is the slower part.
type Delivery interface {
	// Enqueue makes messages available before the handler starts.
	Enqueue(ctx context.Context, bodies []string) error
	// Start runs pollers receive loops that hand batches of up to ten
	// messages to h until ctx ends; done reports the end.
	Start(ctx context.Context, h queue.Handler, pollers int, log *slog.Logger) (done <-chan error)
	// Send delivers one message while the handler runs.
	Send(ctx context.Context, body string) error
	// Name says which delivery it is, for reports.
	Name() string
}

// SQSDelivery delivers through an SQS queue (moto's) with queue.Consumer.
type SQSDelivery struct {
	Client                  *sqs.Client
	QueueURL, DeadLetterURL string
}

func (d SQSDelivery) Name() string { return "sqs" }

func (d SQSDelivery) Enqueue(ctx context.Context, bodies []string) error {
	return enqueue(ctx, d.Client, d.QueueURL, bodies)
}

func (d SQSDelivery) Start(ctx context.Context, h queue.Handler, pollers int, log *slog.Logger) <-chan error {
	consumer := &queue.Consumer{
		Client: d.Client, QueueURL: d.QueueURL, Handler: h, Pollers: pollers,
		DeadLetter: &queue.DeadLetterQueue{Client: d.Client, URL: d.DeadLetterURL, SourceQueueURL: d.QueueURL},
		WaitTime:   time.Second, GracePeriod: 5 * time.Second, Logger: log,
	}
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx) }()
	return done
}

func (d SQSDelivery) Send(ctx context.Context, body string) error {
	_, err := d.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(d.QueueURL), MessageBody: aws.String(body)})
	if err != nil {
		return fmt.Errorf("send a message to %s: %w", d.QueueURL, err)
	}
	return nil
}

// MemoryDelivery delivers from memory: each receive loop takes up to ten
// waiting messages, as one ReceiveMessage would, and hands them over.
type MemoryDelivery struct{ messages chan string }

// NewMemoryDelivery holds up to capacity waiting messages.
func NewMemoryDelivery(capacity int) *MemoryDelivery {
	return &MemoryDelivery{messages: make(chan string, capacity)}
}

func (d *MemoryDelivery) Name() string { return "memory" }

func (d *MemoryDelivery) Enqueue(ctx context.Context, bodies []string) error {
	for _, b := range bodies {
		if err := d.Send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (d *MemoryDelivery) Send(ctx context.Context, body string) error {
	select {
	case d.messages <- body:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *MemoryDelivery) Start(ctx context.Context, h queue.Handler, pollers int, _ *slog.Logger) <-chan error {
	done := make(chan error, 1)
	var wg sync.WaitGroup
	for p := range max(1, pollers) {
		wg.Go(func() {
			for n := 0; ; n++ {
				var batch []dispatch.Item
				select {
				case body := <-d.messages:
					batch = append(batch, dispatch.Item{ID: fmt.Sprintf("%d-%d-0", p, n), Body: []byte(body)})
				case <-ctx.Done():
					return
				}
			fill: // take what is waiting, up to a batch, without waiting for more
				for len(batch) < 10 {
					select {
					case body := <-d.messages:
						batch = append(batch, dispatch.Item{ID: fmt.Sprintf("%d-%d-%d", p, n, len(batch)), Body: []byte(body)})
					default:
						break fill
					}
				}
				h.HandleBatch(ctx, batch)
			}
		})
	}
	go func() { wg.Wait(); done <- nil }()
	return done
}

// RunEvents measures event handling on the testbed of sc, messages handed
// over by d: first a backlog of sc.Messages messages, then a steady stream
// of steady messages at SteadyRate.
func RunEvents(ctx context.Context, sc Scenario, d Delivery, steady int, set EventSettings) (EventsResult, error) {
	tb, err := StartTestbed(sc)
	if err != nil {
		return EventsResult{}, err
	}
	defer tb.Close()
	ep := tb.Endpoints()
	log := set.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	handler, cleanup, err := newEventHandler(ctx, ep, set, log)
	if err != nil {
		return EventsResult{}, err
	}
	defer cleanup()
	res := EventsResult{Delivery: d.Name(), Messages: sc.Messages, SteadyMessages: steady}
	res.Settings.Pollers, res.Settings.Concurrency = max(1, set.Pollers), handler.next.Concurrency()
	res.Bound = min(float64(sc.PortRate), sc.AWSRate*float64(len(sc.Regions)))

	// The resources the messages name: every resource in turn, region by region.
	var targets []eventTarget
	for i := 0; len(targets) < sc.Messages+steady; i++ {
		for _, region := range sc.Regions {
			kind := sc.Kinds[(i/sc.PerShard)%len(sc.Kinds)]
			id, _ := Document(kind, region, i%sc.PerShard)
			targets = append(targets, eventTarget{kind, region, id})
		}
	}
	backlog, stream := targets[:sc.Messages], targets[sc.Messages:sc.Messages+steady]
	bodies := make([]string, len(backlog))
	for i, t := range backlog {
		bodies[i] = eventMessage(t.kind, t.region, t.id)
	}
	if err := d.Enqueue(ctx, bodies); err != nil {
		return res, err
	}

	runCtx, stop := context.WithCancel(ctx)
	start := time.Now()
	done := d.Start(runCtx, handler, set.Pollers, log)
	defer func() { stop(); <-done }()

	if err := waitForEntities(ctx, tb, sc, done); err != nil {
		return res, err
	}
	res.Wall = lastWrite(tb, sc).Sub(start)
	res.Throughput = float64(sc.Messages) / res.Wall.Seconds()
	res.Share = res.Throughput / res.Bound
	res.Traffic = tb.Traffic()

	// Steady stream: one message at a time, SteadyRate a second, far below
	// both limits and below what one poller handles, so the figures are the
	// time one message takes, not time spent queued behind others. The Port
	// write time is the double's UpdatedAt.
	handler.reset()
	sent := map[string]time.Time{}
	interval := time.Duration(float64(time.Second) / SteadyRate)
	for _, t := range stream {
		sent[t.id] = time.Now()
		if err := d.Send(ctx, eventMessage(t.kind, t.region, t.id)); err != nil {
			return res, err
		}
		time.Sleep(interval)
	}
	if err := waitForWrites(ctx, tb, stream, sent, done); err != nil {
		return res, err
	}
	var receiptToWrite, sendToWrite []time.Duration
	for _, t := range stream {
		e, _ := tb.Port.Entity(Blueprint(t.kind), t.id)
		sendToWrite = append(sendToWrite, e.UpdatedAt.Sub(sent[t.id]))
		if got, ok := handler.receivedAt(t.id); ok {
			receiptToWrite = append(receiptToWrite, e.UpdatedAt.Sub(got))
		}
	}
	res.ReceiptToWriteP50, res.ReceiptToWriteP99 = percentile(receiptToWrite, 50), percentile(receiptToWrite, 99)
	res.SendToWriteP50, res.SendToWriteP99 = percentile(sendToWrite, 50), percentile(sendToWrite, 99)
	return res, nil
}

// enqueue sends the bodies, ten per SendMessageBatch.
func enqueue(ctx context.Context, client *sqs.Client, queueURL string, bodies []string) error {
	for start := 0; start < len(bodies); start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i, b := range bodies[start:min(start+10, len(bodies))] {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("queue messages on %s: %w", queueURL, err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("queue messages on %s: %d refused: %s", queueURL, len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
	}
	return nil
}

// QueueCeiling is how many messages per second the consumer moves through
// the queue when handling costs nothing: n messages queued, then received
// and deleted by queue.Consumer with pollers receive loops and a handler
// that succeeds at once. With moto's SQS (single-threaded Python) this is
// the testbed's own limit, which the events figures must be read against.
func QueueCeiling(ctx context.Context, client *sqs.Client, queueURL, deadLetterURL string, n, pollers int) (float64, error) {
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = eventMessage(DefaultKinds[0], DefaultRegions[0], fmt.Sprintf("ceiling-%06d", i))
	}
	if err := enqueue(ctx, client, queueURL, bodies); err != nil {
		return 0, err
	}
	var mu sync.Mutex
	handled := 0
	seen := map[string]bool{} // a redelivered message counts once
	finished := make(chan struct{})
	consumer := &queue.Consumer{
		Client: client, QueueURL: queueURL, Pollers: pollers, WaitTime: time.Second, GracePeriod: time.Second,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: deadLetterURL, SourceQueueURL: queueURL},
		Logger:     slog.New(slog.DiscardHandler),
		Handler: queue.HandlerFunc(func(_ context.Context, items []dispatch.Item) []dispatch.Outcome {
			out := make([]dispatch.Outcome, len(items))
			for i, it := range items {
				out[i] = dispatch.Outcome{ID: it.ID, Status: dispatch.StatusOK}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				if !seen[string(it.Body)] {
					seen[string(it.Body)] = true
					handled++
				}
			}
			if handled >= n {
				select {
				case <-finished:
				default:
					close(finished)
				}
			}
			return out
		}),
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- consumer.Run(runCtx) }()
	defer func() { stop(); <-done }()
	select {
	case <-finished:
		return float64(n) / time.Since(start).Seconds(), nil
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		return 0, fmt.Errorf("the consumer stopped after %d of %d messages: %v", handled, n, err)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// waitForEntities waits until every backlog resource is in Port.
func waitForEntities(ctx context.Context, tb *Testbed, sc Scenario, done <-chan error) error {
	for {
		total := 0
		for _, kind := range sc.Kinds {
			total += len(tb.Port.Entities(Blueprint(kind)))
		}
		if total >= sc.Messages {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("the consumer stopped with %d of %d entities written: %v", total, sc.Messages, err)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d entities written: %w", total, sc.Messages, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitForWrites waits until every streamed resource was written after it was sent.
func waitForWrites(ctx context.Context, tb *Testbed, stream []eventTarget, sent map[string]time.Time, done <-chan error) error {
	for {
		pending := 0
		for _, t := range stream {
			e, ok := tb.Port.Entity(Blueprint(t.kind), t.id)
			if !ok || e.UpdatedAt.Before(sent[t.id]) {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("the consumer stopped with %d steady messages not written: %v", pending, err)
		case <-ctx.Done():
			return fmt.Errorf("%d steady messages not written: %w", pending, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastWrite is the latest UpdatedAt in the double.
func lastWrite(tb *Testbed, sc Scenario) time.Time {
	var last time.Time
	for _, kind := range sc.Kinds {
		for _, e := range tb.Port.Entities(Blueprint(kind)) {
			if e.UpdatedAt.After(last) {
				last = e.UpdatedAt
			}
		}
	}
	return last
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

// timedHandler is the production events handler with the time each
// message reached it, keyed by the identifier the message names.
type timedHandler struct {
	next *dispatch.Handler
	mu   sync.Mutex
	at   map[string]time.Time
}

// newEventHandler wires the events handler against the testbed through the
// product's wiring (Build), as serve does. The returned cleanup removes the
// bench config.
func newEventHandler(ctx context.Context, ep Endpoints, set EventSettings, log *slog.Logger) (*timedHandler, func(), error) {
	sync := cli.SyncDefaults()
	sync.AWSRequestsPerSecond, sync.PortRequestsPerSecond = ep.AWSRate, ep.PortRate
	switch {
	case set.PortRequestsPerSecond > 0:
		sync.PortRequestsPerSecond = set.PortRequestsPerSecond
	case set.PortRequestsPerSecond < 0:
		sync.PortUnpaced = true
	}
	evs := cli.EventDefaults()
	if set.Concurrency > 0 {
		evs.Concurrency = set.Concurrency
	}
	b, cleanup, err := Build(ctx, ep, sync, &evs, log)
	if err != nil {
		return nil, nil, err
	}
	return &timedHandler{next: b.Events, at: map[string]time.Time{}}, cleanup, nil
}

func (h *timedHandler) HandleBatch(ctx context.Context, items []dispatch.Item) []dispatch.Outcome {
	now := time.Now()
	h.mu.Lock()
	for _, it := range items {
		var m struct{ Name string }
		if json.Unmarshal(it.Body, &m) == nil && m.Name != "" {
			if _, seen := h.at[m.Name]; !seen {
				h.at[m.Name] = now
			}
		}
	}
	h.mu.Unlock()
	return h.next.HandleBatch(ctx, items)
}

func (h *timedHandler) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.at = map[string]time.Time{}
}

func (h *timedHandler) receivedAt(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.at[id]
	return t, ok
}
