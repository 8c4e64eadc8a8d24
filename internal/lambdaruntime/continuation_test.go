package lambdaruntime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const lambdaKind = "AWS::Lambda::Function"

var bigShard = source.Shard{AccountID: dispatchtest.AccountID, Region: "eu-west-1", Kind: lambdaKind}

// contBed is a shard run through the Lambda handler over real wire
// protocols: the Cloud Control emulator, the Port double, and moto's SQS
// (the events queue the continuations go to) and S3 (the continuation
// store), the queue driven the way Lambda's SQS poller drives it.
type contBed struct {
	t      *testing.T
	s      *dispatchtest.Stack
	h      *lambdaruntime.Handler
	sqs    *sqs.Client
	s3     *s3.Client
	store  *continuation.S3
	cs     *dispatch.Continuations
	url    string
	arn    string
	dlqURL string
	bodies []string // every message sent to the queue, in order
	mu     sync.Mutex
	// failSends is how many next sends fail (SQS refusing them).
	failSends int
}

type contOptions struct {
	pagesPerSegment int
	inlineLimit     int
	portMiddleware  func(http.Handler) http.Handler
}

func newContBed(t *testing.T, o contOptions) *contBed {
	t.Helper()
	m := moto.Start(t)
	ctx := context.Background()
	b := &contBed{t: t}
	b.sqs = sqs.NewFromConfig(m.AWSConfig(ctx, "eu-west-1"))
	b.url, b.arn, b.dlqURL = queues(t, b.sqs, "continuations")
	b.s3 = s3Behind(t, m, "exporter-state")
	b.store = &continuation.S3{Client: b.s3, Bucket: "exporter-state", Prefix: "continuations"}
	cs := &dispatch.Continuations{Store: b.store, PagesPerSegment: o.pagesPerSegment, InlineLimit: o.inlineLimit,
		Send: func(ctx context.Context, req events.ShardRequest) error {
			b.mu.Lock()
			fail := b.failSends > 0
			if fail {
				b.failSends--
			}
			b.mu.Unlock()
			if fail {
				return fmt.Errorf("injected: SQS refused the send")
			}
			if err := queue.SendShardMessages(ctx, b.sqs, b.url, b.s.ShardKey, []events.ShardRequest{req}); err != nil {
				return err
			}
			body, _, _ := b.s.ShardKey.ShardMessage(req)
			b.mu.Lock()
			b.bodies = append(b.bodies, string(body))
			b.mu.Unlock()
			return nil
		}}
	b.cs = cs
	b.s = dispatchtest.New(t, dispatchtest.Options{Continuations: cs, PortMiddleware: o.portMiddleware})
	b.h = &lambdaruntime.Handler{Batch: b.s.Handler, SQS: b.sqs, QueueURL: b.url, ShardKey: b.s.ShardKey}
	return b
}

// s3Behind creates bucket in moto's S3, behind a proxy that serializes
// conditional PutObjects: moto checks If-Match and writes without a lock,
// where S3 makes the two one atomic step (what the head relies on).
func s3Behind(t *testing.T, m *moto.Server, bucket string) *s3.Client {
	t.Helper()
	target, _ := url.Parse(m.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") {
			mu.Lock()
			defer mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := m.AWSConfig(context.Background(), "eu-west-1")
	cfg.BaseEndpoint = aws.String(srv.URL)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// functions puts n functions fn-00000.. in the emulator, named with pad
// characters so that each entity identifier is about width long.
func (b *contBed) functions(n, width int) []string {
	b.t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("fn-%05d", i)
		if width > len(name) {
			name += "-" + strings.Repeat("x", width-len(name)-1)
		}
		b.s.PutFunction(b.t, "eu-west-1", name, 128)
		names = append(names, name)
	}
	return names
}

// owned puts entities in Port as the shard's own (a previous sync's).
func (b *contBed) owned(ids ...string) {
	for _, id := range ids {
		b.s.Port.Put(dispatchtest.Datasource("eu-west-1", lambdaKind), entity.Entity{Blueprint: "lambda", Identifier: id, Title: id, Properties: map[string]any{}})
	}
}

// startRun sends the fan-out's shard message for the big shard.
func (b *contBed) startRun() {
	b.t.Helper()
	if err := queue.SendShardMessages(context.Background(), b.sqs, b.url, b.s.ShardKey, []events.ShardRequest{{Shard: bigShard}}); err != nil {
		b.t.Fatal(err)
	}
}

// receive takes the next message off the queue (nil when it stays empty).
func (b *contBed) receive() *types.Message {
	b.t.Helper()
	for range 2 {
		out, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(b.url),
			MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: 30, MessageAttributeNames: []string{"All"}})
		if err != nil {
			b.t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			return &out.Messages[0]
		}
	}
	return nil
}

// invoke hands msg to h as one invocation with the given deadline and
// settles it as Lambda's poller does: deleted unless reported failed, a
// failed one visible again at once (its redelivery).
func (b *contBed) invoke(h *lambdaruntime.Handler, msg *types.Message, deadline time.Duration) lambdaevents.SQSEventResponse {
	b.t.Helper()
	rec := recordOf(*msg, b.arn)
	rec.ReceiptHandle = aws.ToString(msg.ReceiptHandle)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	resp, err := h.HandleSQS(ctx, lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{rec}})
	if err != nil {
		b.t.Fatal(err)
	}
	if len(resp.BatchItemFailures) == 0 {
		if _, err := b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.url), ReceiptHandle: msg.ReceiptHandle}); err != nil {
			b.t.Fatal(err)
		}
	} else if _, err := b.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(b.url),
		ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		b.t.Fatal(err)
	}
	return resp
}

// drain invokes the handler with each message until the queue is empty and
// returns how many invocations it took.
func (b *contBed) drain(limit int) int {
	b.t.Helper()
	n := 0
	for msg := b.receive(); msg != nil; msg = b.receive() {
		if n++; n > limit {
			b.t.Fatalf("more than %d invocations", limit)
		}
		if resp := b.invoke(b.h, msg, 60*time.Second); len(resp.BatchItemFailures) > 0 {
			b.t.Fatalf("invocation %d failed: %+v", n, resp)
		}
	}
	return n
}

// continuationOf parses a queued message's continuation (nil for a fresh shard message).
func (b *contBed) continuationOf(msg *types.Message) *events.Continuation {
	b.t.Helper()
	attrs := map[string]string{}
	for k, v := range msg.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	parsed, err := events.Parse([]byte(aws.ToString(msg.Body)), attrs, b.s.ShardKey)
	if err != nil || parsed.Shard == nil {
		b.t.Fatalf("queued %.200s is not a signed shard message: %v", aws.ToString(msg.Body), err)
	}
	return parsed.Shard.Continuation
}

// lambdaIDs are the identifiers of blueprint lambda in Port.
func (b *contBed) lambdaIDs() []string { return b.s.IDs("lambda") }

// portWrites counts the upserts and deletes Port was sent.
func (b *contBed) portWrites() int {
	n := 0
	for k, c := range b.s.Port.Counts() {
		switch k.Route {
		case portapi.RouteUpsert, portapi.RouteBulkUpsert, portapi.RouteDelete, portapi.RouteBulkDelete:
			n += c
		}
	}
	return n
}

func (b *contBed) ccCalls() int {
	c := b.s.CC.TotalCounts()
	return c.Calls
}

// scenario is the catalog the tests start from: 250 functions (10 pages of
// 25) that a previous sync wrote, 5 stale entities of functions deleted
// long ago, and an entity made by hand. want is what Port must hold after a
// complete run: the functions, and the hand-made entity.
func (b *contBed) scenario() (want []string) {
	names := b.functions(250, 0)
	b.owned(names...)
	b.owned("gone-1", "gone-2", "gone-3", "gone-4", "gone-5")
	b.s.Port.Put(dispatchtest.HandDatasource, entity.Entity{Blueprint: "lambda", Identifier: "by-hand", Title: "by hand", Properties: map[string]any{}})
	return append(slices.Clone(names), "by-hand")
}

// TestShardRunSpansInvocations: a shard of 10 pages, 3 pages a segment,
// takes 4 invocations. Between the first and the second, 10 functions on
// pages not listed yet are deleted, one already listed is deleted, and an
// event writes the entity of a function created behind the listing. The run
// deletes the stale entities and those of the 10 deleted functions, and
// keeps what it listed, the hand-made entity and the event's entity.
func TestShardRunSpansInvocations(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	b.startRun()
	if resp := b.invoke(b.h, b.receive(), 60*time.Second); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("first segment failed: %+v", resp)
	}
	if got := b.lambdaIDs(); !slices.Contains(got, "gone-1") {
		t.Fatal("the first segment deleted before the listing was complete")
	}
	for i := 240; i < 250; i++ {
		b.s.CC.Delete("eu-west-1", lambdaKind, fmt.Sprintf("fn-%05d", i))
	}
	b.s.CC.Delete("eu-west-1", lambdaKind, "fn-00000") // listed in segment 1: kept until the next run
	b.s.PutFunction(t, "eu-west-1", "a-created-later", 128)
	b.owned("a-created-later") // what the event for it writes
	n := 1 + b.drain(10)
	if n != 4 {
		t.Errorf("%d invocations, want 4 (10 pages, 3 a segment)", n)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id >= "fn-00240" && id < "fn-00250" })
	want = append(want, "a-created-later")
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("Port holds %d lambda entities, want %d; missing %v, extra %v", len(got), len(want), diff(want, got), diff(got, want))
	}
	var inline int
	for _, body := range b.bodies {
		if strings.Contains(body, `"state":`) {
			inline++
		}
	}
	if inline != 3 {
		t.Errorf("%d of %d continuations carried their state, want all 3 (the state is small)", inline, len(b.bodies))
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("and %d more", len(out)-10))
	}
	return out
}

// TestDuplicateAndLateContinuations: the first continuation delivered to two
// containers at once goes on once (one next message); delivered again later,
// and after the run completed, it reads nothing and deletes nothing; a run
// begun while another is under way replaces it, and the older run's next
// message stops.
func TestDuplicateAndLateContinuations(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	m1 := b.receive()
	sentBefore := len(b.bodies)

	// Two containers, one message: both may list, one goes on.
	other := &lambdaruntime.Handler{Batch: b.s.Replica(t), SQS: b.sqs, QueueURL: b.url, ShardKey: b.s.ShardKey}
	var wg sync.WaitGroup
	for _, h := range []*lambdaruntime.Handler{b.h, other} {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rec := recordOf(*m1, b.arn)
			if _, err := h.HandleSQS(ctx, lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{rec}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.url), ReceiptHandle: m1.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if sent := len(b.bodies) - sentBefore; sent != 1 {
		t.Fatalf("one continuation delivered twice at once sent %d next messages, want 1", sent)
	}

	// The same message, late: nothing read, nothing written.
	calls, writes := b.ccCalls(), b.portWrites()
	outcomes := b.s.Handler.HandleBatch(context.Background(), []dispatch.Item{itemOf(m1)})
	if o := outcomes[0]; o.Status != dispatch.StatusOK || o.Report.ShardSummary == nil || o.Report.ShardSummary.Stale == "" {
		t.Fatalf("a late duplicate: %s %v %+v, want ok and not run", o.Status, o.Err, o.Report)
	}
	if b.ccCalls() != calls || b.portWrites() != writes {
		t.Fatal("a late duplicate read AWS or wrote to Port")
	}
	if n := b.drain(10); n != 2 {
		t.Errorf("the rest of the run took %d invocations, want 2 (segments 3 and 4)", n)
	}
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("after the run: missing %v, extra %v", diff(want, got), diff(got, want))
	}
	// After the run: the first continuation again.
	if o := b.s.Handler.HandleBatch(context.Background(), []dispatch.Item{itemOf(m1)})[0]; o.Report.ShardSummary.Stale == "" {
		t.Fatalf("a continuation of a complete run was run: %+v", o.Report.ShardSummary)
	}

	// Run A paused; the next fan-out's message comes while A is under way:
	// it leaves A to finish (else a shard whose run outlasts the schedule
	// would never finish), and A completes with its deletions.
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	mA := b.receive()
	b.s.CC.Delete("eu-west-1", lambdaKind, "fn-00101")
	b.startRun()
	fresh := b.receive()
	if b.continuationOf(fresh) != nil {
		fresh, mA = mA, fresh // the queue gave A's continuation first
	}
	calls, writes = b.ccCalls(), b.portWrites()
	if o := b.s.Handler.HandleBatch(context.Background(), []dispatch.Item{itemOf(fresh)})[0]; o.Status != dispatch.StatusOK ||
		o.Report.ShardSummary == nil || !strings.Contains(o.Report.ShardSummary.Stale, "under way") {
		t.Fatalf("a new shard message during a run under way: %s %v %+v, want ok and left to the run", o.Status, o.Err, o.Report.ShardSummary)
	}
	if b.ccCalls() != calls || b.portWrites() != writes {
		t.Fatal("a shard message left to the run under way read AWS or wrote to Port")
	}
	if _, err := b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.url), ReceiptHandle: fresh.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	b.invoke(b.h, mA, 60*time.Second)
	if n := b.drain(10); n != 2 {
		t.Errorf("run A's rest took %d invocations after its second, want 2", n)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == "fn-00101" })
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("after run A: missing %v, extra %v", diff(want, got), diff(got, want))
	}

	// A run taken for stuck (its head older than RunAlive; -1 here: at once)
	// is replaced: run A paused; run B begins; A's continuation stops, B
	// completes.
	b.cs.RunAlive = -1
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	mA = b.receive()
	b.s.CC.Delete("eu-west-1", lambdaKind, "fn-00100")
	b.startRun()
	msg := b.receive()
	if b.continuationOf(msg) != nil {
		msg, mA = mA, msg // the queue gave A's continuation first
	}
	b.invoke(b.h, msg, 60*time.Second) // B's first segment
	if o := b.s.Handler.HandleBatch(context.Background(), []dispatch.Item{itemOf(mA)})[0]; o.Report.ShardSummary.Stale == "" {
		t.Fatalf("the older run's continuation ran after a newer run began: %+v", o.Report.ShardSummary)
	}
	if _, err := b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.url), ReceiptHandle: mA.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if n := b.drain(10); n != 3 {
		t.Errorf("run B's rest took %d invocations, want 3", n)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == "fn-00100" })
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("after run B: missing %v, extra %v", diff(want, got), diff(got, want))
	}
}

func itemOf(m *types.Message) dispatch.Item {
	attrs := map[string]string{}
	for k, v := range m.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	return dispatch.Item{ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body)), Attributes: attrs}
}

// TestExpiredTokenRestartsTheRun: Cloud Control forgets the run's token
// between two invocations; the next one starts the listing again from page
// one, deletes nothing until it is complete, and the run ends right.
func TestExpiredTokenRestartsTheRun(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	b.s.CC.ExpireTokens()
	m1 := b.receive()
	b.invoke(b.h, m1, 60*time.Second)
	if got := b.lambdaIDs(); !slices.Contains(got, "gone-1") {
		t.Fatal("the restarted segment deleted before the listing was complete")
	}
	m2 := b.receive()
	c := b.continuationOf(m2)
	if c == nil || c.Restarts != 1 || c.Pages != 3 {
		t.Fatalf("continuation after the restart: %+v, want restarts 1 and 3 pages (the new listing's)", c)
	}
	if _, err := b.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(b.url),
		ReceiptHandle: m2.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	if n := b.drain(10); n != 3 {
		t.Errorf("after the restart the run took %d more invocations, want 3", n)
	}
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("missing %v, extra %v", diff(want, got), diff(got, want))
	}
}

// TestFailureMidRunDeletesNothing: Cloud Control fails while the second
// segment lists, then Port while the third writes: each failed segment is
// redelivered (no continuation sent), nothing is deleted meanwhile, and
// once AWS and Port answer the run completes with the right deletions.
func TestFailureMidRunDeletesNothing(t *testing.T) {
	var portDown bool
	var mu sync.Mutex
	down := func() bool { mu.Lock(); defer mu.Unlock(); return portDown }
	b := newContBed(t, contOptions{pagesPerSegment: 3, portMiddleware: dispatchtest.FailBlueprint("lambda", down)})
	want := b.scenario()
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)

	b.s.CC.SetFault(cloudcontrol.Scope{Region: "eu-west-1", Type: lambdaKind}, cloudcontrol.InternalError)
	sent := len(b.bodies)
	if resp := b.invoke(b.h, b.receive(), 60*time.Second); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a segment whose listing failed: %+v, want it redelivered", resp)
	}
	b.s.CC.ClearFaults()
	if len(b.bodies) != sent {
		t.Fatal("a failed segment sent a continuation")
	}
	b.invoke(b.h, b.receive(), 60*time.Second) // segment 2, redelivered

	mu.Lock()
	portDown = true
	mu.Unlock()
	if resp := b.invoke(b.h, b.receive(), 60*time.Second); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a segment whose writes failed: %+v, want it redelivered", resp)
	}
	mu.Lock()
	portDown = false
	mu.Unlock()
	if got := b.lambdaIDs(); !slices.Contains(got, "gone-1") {
		t.Fatal("something was deleted while the run was failing")
	}
	if n := b.drain(10); n != 2 {
		t.Errorf("the rest took %d invocations, want 2", n)
	}
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("missing %v, extra %v", diff(want, got), diff(got, want))
	}
}

// TestRunStateInS3: with the state kept in the store, every continuation
// names its S3 object, which holds the entities so far; the run's objects
// are removed once it completes.
func TestRunStateInS3(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3, inlineLimit: -1})
	want := b.scenario()
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	m1 := b.receive()
	c := b.continuationOf(m1)
	if c == nil || c.StateKey == "" || len(c.State) != 0 {
		t.Fatalf("continuation %+v, want its state in the store", c)
	}
	if !strings.HasPrefix(c.StateKey, "continuations/123456789012/eu-west-1/AWS::Lambda::Function/runs/") {
		t.Errorf("state key %q is not under the shard's prefix", c.StateKey)
	}
	state, err := b.store.GetState(context.Background(), c.StateKey)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Desired map[string][]string `json:"desired"`
		Owned   map[string][]string `json:"owned"`
	}
	if err := json.Unmarshal(state, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Desired["lambda"]) != 75 || len(doc.Owned["lambda"]) != 255 {
		t.Errorf("state holds %d entities seen and %d owned, want 75 (3 pages) and 255", len(doc.Desired["lambda"]), len(doc.Owned["lambda"]))
	}
	if _, err := b.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(b.url),
		ReceiptHandle: m1.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	if n := b.drain(10); n != 3 {
		t.Errorf("%d more invocations, want 3", n)
	}
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("missing %v, extra %v", diff(want, got), diff(got, want))
	}
	left, err := b.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("exporter-state"), Prefix: aws.String("continuations/123456789012/eu-west-1/AWS::Lambda::Function/runs/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Contents) != 0 {
		t.Errorf("%d state objects left after the run", len(left.Contents))
	}
}

// TestContinuationStaysUnderTheSQSLimit: 2,400 functions with 120-character
// identifiers, 500 a segment: the state outgrows what a message may carry
// part-way (about 200 KiB), moves to the store, and every message sent is
// under SQS's 256 KiB.
func TestContinuationStaysUnderTheSQSLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("2,400 resources")
	}
	b := newContBed(t, contOptions{pagesPerSegment: 20})
	names := b.functions(2400, 120)
	b.owned("gone-1")
	b.startRun()
	if n := b.drain(10); n != 5 {
		t.Errorf("%d invocations, want 5 (96 pages, 20 a segment)", n)
	}
	var inline, stored int
	for _, body := range b.bodies {
		if len(body) > 256<<10-8<<10 {
			t.Errorf("a continuation of %d bytes", len(body))
		}
		if strings.Contains(body, `"state_key":`) {
			stored++
		} else {
			inline++
		}
	}
	if inline == 0 || stored == 0 {
		t.Errorf("%d continuations carried their state and %d stored it; want both (the state outgrows the message)", inline, stored)
	}
	slices.Sort(names)
	if got := b.lambdaIDs(); !slices.Equal(got, names) {
		t.Fatalf("missing %v, extra %v", diff(names, got), diff(got, names))
	}
}

// TestPermanentErrorMidRunWithholdsDeletions: a write Port refuses (a
// function whose memorySize is not a number) in the first segment does not
// stop the run, which upserts every other function; its last segment
// deletes nothing and is dead-lettered with the refusal's reason.
func TestPermanentErrorMidRunWithholdsDeletions(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	if err := b.s.CC.Put("eu-west-1", lambdaKind, "fn-00003", map[string]any{"FunctionName": "fn-00003", "MemorySize": "lots", "Runtime": "python3.12"}); err != nil {
		t.Fatal(err)
	}
	b.startRun()
	var last lambdaevents.SQSEventResponse
	n := 0
	for msg := b.receive(); msg != nil; msg = b.receive() {
		if n++; n > 10 {
			t.Fatal("more than 10 invocations")
		}
		last = b.invoke(b.h, msg, 60*time.Second)
	}
	if n != 4 {
		t.Errorf("%d invocations, want 4: the refused write does not stop the run", n)
	}
	if len(last.BatchItemFailures) != 0 {
		t.Errorf("the last segment was reported failed (%+v); a permanent error is dead-lettered, not retried", last)
	}
	got := b.lambdaIDs()
	for _, id := range []string{"gone-1", "gone-5"} {
		if !slices.Contains(got, id) {
			t.Errorf("%s was deleted by a run with an error", id)
		}
	}
	if !slices.Contains(got, "fn-00249") || len(got) != len(want)+5 {
		t.Errorf("Port holds %d lambda entities, want the %d of before (every function upserted, nothing deleted)", len(got), len(want)+5)
	}
	dlq := receiveAll(t, b.sqs, b.dlqURL)
	if len(dlq) != 1 || aws.ToString(dlq[0].MessageAttributes[queue.AttrReason].StringValue) != events.ReasonPortRejected {
		var reasons []string
		for _, d := range dlq {
			reasons = append(reasons, aws.ToString(d.MessageAttributes[queue.AttrReason].StringValue))
		}
		t.Errorf("dead-letter queue holds %v, want the last segment with %s", reasons, events.ReasonPortRejected)
	}
}

// TestFailedSendRunsTheSegmentAgain: the next segment's message cannot be
// sent; the segment is reported failed, the head is put back, and the
// redelivered message runs the segment again, so the run completes.
func TestFailedSendRunsTheSegmentAgain(t *testing.T) {
	b := newContBed(t, contOptions{pagesPerSegment: 3})
	want := b.scenario()
	b.startRun()
	b.invoke(b.h, b.receive(), 60*time.Second)
	b.mu.Lock()
	b.failSends = 1
	b.mu.Unlock()
	if resp := b.invoke(b.h, b.receive(), 60*time.Second); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a segment whose next message was not sent: %+v, want it redelivered", resp)
	}
	if n := b.drain(10); n != 3 {
		t.Errorf("%d more invocations, want 3 (the redelivered segment and two more)", n)
	}
	slices.Sort(want)
	if got := b.lambdaIDs(); !slices.Equal(got, want) {
		t.Fatalf("missing %v, extra %v", diff(want, got), diff(got, want))
	}
}
