package queue_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

type outageScenario struct {
	outage     time.Duration // how long Port answers 503 to everything
	stream     time.Duration // how long updates keep coming (from the outage's start)
	interval   time.Duration // between two updates
	visibility time.Duration // how soon a failed message comes back
	functions  int
}

// TestPortOutageLosesNoUpdate: Port is down while a steady stream of updates
// arrives; once it is back, every function's entity holds its last value in
// Cloud Control, the queue is empty and nothing was dead-lettered. The
// compressed version always runs; LONG_TESTS=1 (CI) runs the two-minute one.
func TestPortOutageLosesNoUpdate(t *testing.T) {
	t.Run("10s", func(t *testing.T) {
		runOutage(t, outageScenario{outage: 10 * time.Second, stream: 13 * time.Second, interval: 50 * time.Millisecond, visibility: time.Second, functions: 20})
	})
	t.Run("2m", func(t *testing.T) {
		if os.Getenv("LONG_TESTS") != "1" {
			t.Skip("the two-minute outage runs with LONG_TESTS=1 (CI sets it)")
		}
		runOutage(t, outageScenario{outage: 2 * time.Minute, stream: 2*time.Minute + 10*time.Second, interval: 200 * time.Millisecond, visibility: 5 * time.Second, functions: 40})
	})
}

func runOutage(t *testing.T, sc outageScenario) {
	client := sqsOnMoto(t)
	name := fmt.Sprintf("outage-%d", sc.outage/time.Second)
	dlqURL, _ := createQueue(t, client, name+"-dlq", nil)
	srcURL, _ := createQueue(t, client, name, nil)
	s := dispatchtest.New(t, dispatchtest.Options{})
	ctx := context.Background()

	// memory[fn] is the function's latest MemorySize in Cloud Control.
	var mu sync.Mutex
	memory := map[string]int{}
	update := func(i, value int) {
		fn := fmt.Sprintf("fn-%03d", i%sc.functions)
		s.PutFunction(t, "eu-west-1", fn, value)
		mu.Lock()
		memory[fn] = value
		mu.Unlock()
		body := string(dispatchtest.FunctionMessage("eu-west-1", "UpdateFunctionConfiguration20150331v2", fn))
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srcURL), MessageBody: aws.String(body)}); err != nil {
			t.Errorf("send update of %s: %v", fn, err)
		}
	}

	s.Port.Fail(portapi.Fault{Status: 503, For: sc.outage})
	outageEnds := time.Now().Add(sc.outage)
	c := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: s.Handler, Pollers: 2, WaitTime: time.Second,
		VisibilityTimeout: sc.visibility, DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL}}
	stop := runConsumer(t, c)
	defer stop()

	sent := 0
	for start := time.Now(); time.Since(start) < sc.stream; sent++ {
		update(sent, 128+sent)
		time.Sleep(sc.interval)
	}
	if time.Now().Before(outageEnds) {
		t.Fatal("the stream ended before the outage: the scenario tests nothing")
	}
	t.Logf("%d updates sent for %d functions over %v, Port down for the first %v", sent, sc.functions, sc.stream, sc.outage)

	converged := func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for fn, want := range memory {
			e, ok := s.Port.Entity("lambda", fn)
			if !ok {
				return false, fn + " missing"
			}
			if got := fmt.Sprint(e.Properties["memorySize"]); got != fmt.Sprint(want) {
				return false, fmt.Sprintf("%s has memorySize %s, want %d", fn, got, want)
			}
		}
		return true, ""
	}
	deadline := time.Now().Add(sc.visibility*4 + 30*time.Second)
	for {
		ok, why := converged()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Port did not converge after the outage: %s", why)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "the events queue to empty", 30*time.Second, func() bool {
		v, f := queueCounts(t, client, srcURL)
		return v == 0 && f == 0
	})
	if v, f := queueCounts(t, client, dlqURL); v+f != 0 {
		t.Errorf("%d messages were dead-lettered during a transient outage", v+f)
	}
	if n := s.Port.Count(portapi.RouteBulkUpsert, 503) + s.Port.Count(portapi.RouteToken, 503); n == 0 {
		t.Error("Port never answered 503: the outage did not happen")
	}
}
