package queue_test

// The attack corpus of internal/dispatch (testdata/attacks/corpus.yaml)
// through serve's consumer: each case's record goes through its rule and the
// InputTransformer as `rules test` runs them, the rendered bodies are sent to
// a real SQS queue on moto, and queue.Consumer runs with the dispatchtest
// Handler until the queue is drained. The same expectations hold, and
// dead-lettered messages are on the DLQ with their reason attribute. (The
// corpus loader is repeated here: test files of another package cannot be
// imported.)

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/queue"
)

const attacksDir = "../dispatch/testdata/attacks"

// quiet drops the handler's logs: the dispatch corpus test logs outcomes.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestAttackCorpusThroughSQS(t *testing.T) {
	cases := dispatchtest.LoadAttacks(t, attacksDir)
	if len(cases) < 40 {
		t.Fatalf("corpus.yaml has %d cases, want at least 40", len(cases))
	}
	client := sqsOnMoto(t)
	sent := 0
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			event := c.Event(t, attacksDir)
			r := dispatchtest.Render(t, dispatchtest.AttackSuite(t, attacksDir, c.Rule, c.Kinds), event)
			bodies := r.Bodies
			if !r.Matched {
				continue // nothing reaches the queue; the dispatch corpus checks the rule
			}
			sent++
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				runAttackOnSQS(t, client, i, c, event, bodies)
			})
		}
	})
	if sent < 30 {
		t.Errorf("only %d cases reached the queue, want at least 30", sent)
	}
}

func runAttackOnSQS(t *testing.T, client *sqs.Client, i int, c dispatchtest.AttackCase, event []byte, bodies []string) {
	opts := dispatchtest.AttackOptions(t, c)
	opts.Logger = quiet
	s := dispatchtest.New(t, opts)
	s.Stage(t, c, dispatchtest.RecordRegion(event))
	srcURL, _ := createQueue(t, client, fmt.Sprintf("attack-%d", i), nil)
	dlqURL, _ := createQueue(t, client, fmt.Sprintf("attack-%d-dlq", i), nil)
	accepted := 0
	for _, b := range bodies {
		_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(srcURL), MessageBody: aws.String(b)})
		if err != nil {
			// SQS refuses it (too large, or characters SQS does not carry):
			// nothing reaches the exporter, which is as safe as a dead letter.
			t.Logf("SQS refused the %d-byte body: %v", len(b), err)
			if c.Want.Status != "permanent" {
				t.Errorf("SQS refused a body the case expects to be handled (%s)", c.Want.Status)
			}
			continue
		}
		accepted++
	}
	c2 := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: s.Handler, WaitTime: time.Second,
		VisibilityTimeout: 2 * time.Second, Logger: quiet,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL, SourceQueueURL: srcURL}}
	stop := runConsumer(t, c2)
	if c.Want.Status == "transient" {
		// Redelivered until it succeeds: wait for the reads, then stop.
		waitFor(t, "the message to be handled", 20*time.Second, func() bool { return s.CC.TotalCounts().Calls > 0 })
	} else {
		waitFor(t, "the queue to drain", 30*time.Second, func() bool {
			v, f := queueCounts(t, client, srcURL)
			return v == 0 && f == 0
		})
	}
	stop()

	s.CheckAttack(t, c.Want)
	dead := drain(t, client, dlqURL)
	switch c.Want.Status {
	case "permanent":
		if len(dead) != accepted {
			t.Fatalf("dead-letter queue holds %d messages, want the %d sent", len(dead), accepted)
		}
		for _, m := range dead {
			if got := aws.ToString(m.MessageAttributes[queue.AttrReason].StringValue); got != c.Want.Reason {
				t.Errorf("dead letter reason %q, want %q", got, c.Want.Reason)
			}
			if !slices.Contains(bodies, aws.ToString(m.Body)) {
				t.Errorf("dead letter body is not a body sent")
			}
		}
	default:
		if len(dead) != 0 {
			t.Errorf("dead-letter queue holds %d messages, want none (reason %q)", len(dead), aws.ToString(dead[0].MessageAttributes[queue.AttrReason].StringValue))
		}
	}
}
