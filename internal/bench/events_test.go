package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// eventQueues creates an events queue and its dead-letter queue on moto.
func eventQueues(t testing.TB, name string) (*sqs.Client, string, string) {
	t.Helper()
	m := moto.Start(t) // skips, naming moto_server, when it is absent
	ctx := context.Background()
	client := sqs.NewFromConfig(m.AWSConfig(ctx, "us-east-1"))
	var urls []string
	for _, n := range []string{name, name + "-dlq"} {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(n)})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, aws.ToString(out.QueueUrl))
	}
	return client, urls[0], urls[1]
}

func TestQueueCeilingCountsEveryMessage(t *testing.T) {
	client, queueURL, dlqURL := eventQueues(t, "tiny-ceiling")
	perSecond, err := QueueCeiling(t.Context(), client, queueURL, dlqURL, 50, 2)
	if err != nil {
		t.Fatal(err)
	}
	if perSecond <= 0 {
		t.Fatalf("ceiling %v messages/s", perSecond)
	}
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range out.Attributes {
		if v != "0" {
			t.Errorf("%s = %s after the ceiling run: messages were not deleted", name, v)
		}
	}
}

func tinyEvents(t *testing.T) Scenario {
	sc, err := Named(ScenarioEvents, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Kinds, sc.Regions, sc.PerShard, sc.Messages = DefaultKinds[:2], DefaultRegions[:2], 50, 200
	sc.AWSLatency, sc.PortLatency, sc.PortRate = 5*time.Millisecond, 8*time.Millisecond, 100
	return sc
}

func checkEvents(t *testing.T, sc Scenario, res EventsResult) {
	t.Helper()
	t.Logf("%+v", res)
	if res.Throughput <= 0 {
		t.Errorf("throughput %.1f messages/s", res.Throughput)
	}
	// Each backlog message is one GetResource; a batch's upserts share bulk
	// Port requests of at most 20 entities, and never exceed Port's pace.
	if res.AWSRequests < sc.Messages || res.PortRequests < (sc.Messages+19)/20 || res.PortRequests > sc.Messages {
		t.Errorf("AWS %d and Port %d requests for %d messages", res.AWSRequests, res.PortRequests, sc.Messages)
	}
	if res.Port429 != 0 {
		t.Errorf("Port answered 429 %d times: the exporter outran Port's pace", res.Port429)
	}
	if res.ReceiptToWriteP50 <= sc.AWSLatency+sc.PortLatency || res.ReceiptToWriteP99 < res.ReceiptToWriteP50 {
		t.Errorf("receipt to write p50 %v p99 %v: below the latencies they include", res.ReceiptToWriteP50, res.ReceiptToWriteP99)
	}
	if res.SendToWriteP50 < res.ReceiptToWriteP50 {
		t.Errorf("send to write p50 %v shorter than receipt to write %v", res.SendToWriteP50, res.ReceiptToWriteP50)
	}
}

func TestTinyEventsThroughSQS(t *testing.T) {
	sc := tinyEvents(t)
	client, queueURL, dlqURL := eventQueues(t, "tiny-events")
	res, err := RunEvents(t.Context(), sc, SQSDelivery{client, queueURL, dlqURL}, 10, EventSettings{Pollers: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, sc, res)
}

func TestTinyEventsFromMemory(t *testing.T) {
	sc := tinyEvents(t)
	res, err := RunEvents(t.Context(), sc, NewMemoryDelivery(sc.Messages), 10, EventSettings{Pollers: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, sc, res)
}

// BenchmarkEvents is issue 6's events scenario, with the harness's zero
// settings (1 poller from memory) and with serve's defaults (4 pollers, 16
// resources of a batch at once, which "tuned" approximates); messages come through moto's SQS and, since moto's SQS
// moves only about 15 messages a second (QueueCeiling), also straight from
// memory, which measures the exporter's side alone. Runs below the bound
// take fewer messages (throughput is a steady rate). One iteration is the
// whole scenario (minutes):
//
//	go test -run '^$' -bench BenchmarkEvents -benchtime 1x -timeout 60m ./internal/bench
func BenchmarkEvents(b *testing.B) {
	defaults, tuned := EventSettings{}, EventSettings{Pollers: 4, Concurrency: 10}
	for _, c := range []struct {
		delivery string
		set      EventSettings
		messages int
	}{
		{"sqs", defaults, 600}, {"sqs", tuned, 600},
		{"memory", defaults, 2000}, {"memory", tuned, 10_000},
		{"memory", EventSettings{Pollers: 4, Concurrency: 10, PortRequestsPerSecond: -1}, 3000},
	} {
		set := c.set
		concurrency := set.Concurrency
		if concurrency == 0 {
			concurrency = dispatch.DefaultConcurrency
		}
		name := fmt.Sprintf("%s/pollers=%d,concurrency=%d", c.delivery, max(1, set.Pollers), concurrency)
		if set.PortRequestsPerSecond < 0 {
			name += ",port-unpaced"
		}
		b.Run(name, func(b *testing.B) {
			sc, err := Named(ScenarioEvents, c.messages)
			if err != nil {
				b.Fatal(err)
			}
			var d Delivery = NewMemoryDelivery(sc.Messages)
			if c.delivery == "sqs" {
				name := fmt.Sprintf("bench-events-%d", time.Now().UnixNano())
				client, queueURL, dlqURL := eventQueues(b, name)
				_, ceilingURL, ceilingDLQ := eventQueues(b, name+"-ceiling")
				ceiling, err := QueueCeiling(b.Context(), client, ceilingURL, ceilingDLQ, 500, max(1, set.Pollers))
				if err != nil {
					b.Fatal(err)
				}
				// Logged, not reported: b.Loop resets metrics reported before it.
				b.Logf("queue ceiling (no handler work, 500 messages, %d pollers): %.1f messages/s", max(1, set.Pollers), ceiling)
				d = SQSDelivery{client, queueURL, dlqURL}
			}
			for b.Loop() {
				res, err := RunEvents(b.Context(), sc, d, 100, set)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.Throughput, "messages/s")
				b.ReportMetric(100*res.Share, "%bound")
				b.ReportMetric(float64(res.ReceiptToWriteP50.Milliseconds()), "ms-p50")
				b.ReportMetric(float64(res.ReceiptToWriteP99.Milliseconds()), "ms-p99")
				b.ReportMetric(float64(res.SendToWriteP99.Milliseconds()), "ms-send-p99")
				b.Logf("%+v", res)
			}
		})
	}
}
