package queue_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// convergeScenario is one way of running the exporter against one queue.
type convergeScenario struct {
	name     string
	pollers  int
	replicas int
	// concurrent hands every message to a replica the moment it is sent, in
	// its own batch and goroutine, as independent pollers or concurrent
	// Lambda invocations do; otherwise messages go through the queue.
	concurrent bool
	// lambda delivers the concurrent messages as SQS records to the Lambda
	// handler (internal/lambdaruntime) of each replica.
	lambda bool
	// portOutage makes Port answer 503 to everything for this long, from
	// the start of the messages.
	portOutage time.Duration
}

// Timing of the race (issue 12): Cloud Control answers 50–600 ms after it
// read the state, a trial's messages are 50 ms apart, reconciles are cut at
// unitTimeout and verified verifyDelay after they wrote.
const (
	trials      = 50
	stepGap     = 50 * time.Millisecond
	unitTimeout = 3 * time.Second
	verifyDelay = 4 * time.Second
)

// TestEventsConvergeUnderAnyInterleaving: in each trial a function is
// created, deleted and created again (with another memory size), each change
// followed by its CloudTrail-style message 50 ms later, all trials at once;
// half the trials end deleted instead. Cloud Control's answers arrive
// 50–600 ms after it read the state, so a read made before a change can be
// written after it. After the queue drains (verifications included), every
// function's entity must equal AWS: present with the last memory size, or
// absent; and the dead-letter queue must be empty. 0 wrong of 50 trials,
// for 1 and 4 pollers, 2 replicas, and Port failing for a while.
func TestEventsConvergeUnderAnyInterleaving(t *testing.T) {
	scenarios := []convergeScenario{
		{name: "1 poller", pollers: 1, replicas: 1},
		{name: "4 pollers", pollers: 4, replicas: 1},
		{name: "2 replicas of 4 pollers", pollers: 4, replicas: 2},
		{name: "every message at once, 1 process", pollers: 4, replicas: 1, concurrent: true},
		{name: "every message at once, 2 replicas", pollers: 4, replicas: 2, concurrent: true},
		{name: "Lambda, concurrent invocations in 2 containers", pollers: 2, replicas: 2, concurrent: true, lambda: true},
		{name: "every message at once, 2 replicas, Port down 3s", pollers: 4, replicas: 2, concurrent: true, portOutage: 3 * time.Second},
	}
	if len(scenarios) < 7 {
		t.Fatal("scenarios lost")
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runConvergence(t, sc, uint64(i+1)) })
	}
}

func runConvergence(t *testing.T, sc convergeScenario, seed uint64) {
	client := sqsOnMoto(t)
	name := fmt.Sprintf("converge-%d", seed)
	dlqURL, dlqARN := createQueue(t, client, name+"-dlq", nil)
	srcURL, _ := createQueue(t, client, name, map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"50"}`, dlqARN),
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	verifier := queue.Verifier{Client: client, QueueURL: srcURL}
	s := dispatchtest.New(t, dispatchtest.Options{
		CCJitter: &cloudcontrol.Jitter{Min: 50 * time.Millisecond, Max: 600 * time.Millisecond, Seed: seed},
		Verifier: verifier, VerifyDelay: verifyDelay, UnitTimeout: unitTimeout, Logger: quiet,
	})
	handlers := []*dispatch.Handler{s.Handler}
	for len(handlers) < sc.replicas {
		handlers = append(handlers, s.Replica(t))
	}
	var stops []func()
	for _, h := range handlers {
		c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: h, Pollers: sc.pollers, WaitTime: time.Second,
			VisibilityTimeout: 10 * time.Second, Logger: quiet,
			DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL, SourceQueueURL: srcURL}}
		stops = append(stops, runConsumer(t, c))
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	if sc.portOutage > 0 {
		s.Port.Fail(portapi.Fault{Status: 503, For: sc.portOutage})
	}

	deliver := func(body string) { send(t, client, srcURL, body) }
	var inFlight sync.WaitGroup
	if sc.concurrent {
		var n atomic.Int64
		deliver = func(body string) {
			i := n.Add(1)
			inFlight.Go(func() {
				h := handlers[int(i)%len(handlers)]
				id := fmt.Sprintf("direct-%d", i)
				if sc.lambda {
					lh := &lambdaruntime.Handler{Batch: h, SQS: client, QueueURL: srcURL, Logger: quiet}
					now := strconv.FormatInt(time.Now().UnixMilli(), 10)
					_, _ = lh.HandleSQS(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{{
						MessageId: id, Body: body, EventSource: "aws:sqs", ReceiptHandle: "rh-" + id,
						Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": now},
					}}})
					return
				}
				o := h.HandleBatch(context.Background(), []dispatch.Item{{ID: id, Body: []byte(body)}})[0]
				if o.Status == dispatch.StatusRetry {
					// What SQS would redeliver: through the queue.
					send(t, client, srcURL, body)
				}
			})
		}
	}
	truth := playTrials(t, s, deliver, seed)
	inFlight.Wait()
	waitForDrain(t, client, srcURL, 90*time.Second)

	wrong := 0
	for fn, memory := range truth {
		e, ok := s.Port.Entity("lambda", fn)
		switch {
		case memory == 0 && ok:
			wrong++
			t.Errorf("%s is gone from AWS, but its entity is still in Port", fn)
		case memory != 0 && !ok:
			wrong++
			t.Errorf("%s exists in AWS (memory %d), but its entity is missing", fn, memory)
		case memory != 0 && fmt.Sprint(e.Properties["memorySize"]) != strconv.Itoa(memory):
			wrong++
			t.Errorf("%s: entity memorySize %v, AWS says %d (a stale write won)", fn, e.Properties["memorySize"], memory)
		}
	}
	if v, f := queueCounts(t, client, dlqURL); v+f != 0 {
		t.Errorf("the dead-letter queue holds %d messages; none should be there", v+f)
	}
	t.Logf("%s: %d trials, %d wrong final states", sc.name, len(truth), wrong)
}

// playTrials runs every trial at once and returns what AWS holds at the end:
// each function's memory size, 0 for a function that is gone.
func playTrials(t *testing.T, s *dispatchtest.Stack, deliver func(body string), seed uint64) map[string]int {
	t.Helper()
	var mu sync.Mutex
	truth := map[string]int{}
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range trials {
		fn := fmt.Sprintf("race-%02d", i)
		endsDeleted := i%2 == 1
		start := time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		wg.Go(func() {
			time.Sleep(start)
			step := func(event string, memory int) {
				if memory > 0 {
					s.PutFunction(t, "eu-west-1", fn, memory)
				} else {
					s.CC.Delete("eu-west-1", "AWS::Lambda::Function", fn)
				}
				mu.Lock()
				truth[fn] = memory
				mu.Unlock()
				deliver(string(dispatchtest.FunctionMessage("eu-west-1", event, fn)))
				time.Sleep(stepGap)
			}
			step("CreateFunction20150331", 128)
			step("DeleteFunction20150331", 0)
			if !endsDeleted {
				step("CreateFunction20150331", 256)
			}
		})
	}
	wg.Wait()
	return truth
}

// waitForDrain waits until the queue holds nothing visible, in flight or
// delayed (verifications) for two seconds in a row.
func waitForDrain(t *testing.T, client *sqs.Client, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	quietSince := time.Time{}
	for {
		out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed} {
			v, _ := strconv.Atoi(out.Attributes[string(a)])
			n += v
		}
		switch {
		case n > 0:
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) >= 2*time.Second:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain within %v (%d messages left)", timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
