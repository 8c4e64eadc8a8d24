package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/events"
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

func TestTinyEvents(t *testing.T) {
	sc, err := Named(ScenarioEvents, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Kinds, sc.Regions, sc.PerShard, sc.Messages = DefaultKinds[:2], DefaultRegions[:2], 50, 200
	sc.AWSLatency, sc.PortLatency, sc.PortRate = 5*time.Millisecond, 8*time.Millisecond, 100
	client, queueURL, dlqURL := eventQueues(t, "tiny-events")
	res, err := RunEvents(t.Context(), sc, client, queueURL, dlqURL, 10, EventSettings{Pollers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Throughput <= 0 || res.Throughput > res.Bound*1.05 {
		t.Errorf("throughput %.1f messages/s, bound %.1f", res.Throughput, res.Bound)
	}
	// Each backlog message is one GetResource and one Port upsert at least.
	if res.AWSRequests < sc.Messages || res.PortRequests < sc.Messages {
		t.Errorf("AWS %d and Port %d requests for %d messages", res.AWSRequests, res.PortRequests, sc.Messages)
	}
	if res.ReceiptToWriteP50 <= sc.AWSLatency+sc.PortLatency || res.ReceiptToWriteP99 < res.ReceiptToWriteP50 {
		t.Errorf("receipt to write p50 %v p99 %v: below the latencies they include", res.ReceiptToWriteP50, res.ReceiptToWriteP99)
	}
	if res.SendToWriteP50 < res.ReceiptToWriteP50 {
		t.Errorf("send to write p50 %v shorter than receipt to write %v", res.SendToWriteP50, res.ReceiptToWriteP50)
	}
}

// BenchmarkEvents is issue 6's events scenario: 10,000 messages queued on
// moto's SQS, then a steady stream for latency, with serve's defaults and
// with more pollers and concurrency. serve's defaults run far below the
// bound, so that case queues 2,000 messages (throughput is a steady rate);
// the tuned case the full 10,000. One iteration is the whole scenario
// (minutes): run with -benchtime 1x.
//
//	go test -run '^$' -bench BenchmarkEvents -benchtime 1x -timeout 30m ./internal/bench
func BenchmarkEvents(b *testing.B) {
	for _, c := range []struct {
		set      EventSettings
		messages int
	}{{EventSettings{}, 2000}, {EventSettings{Pollers: 4, Concurrency: 10}, 0}} {
		set := c.set
		concurrency := set.Concurrency
		if concurrency == 0 {
			concurrency = events.DefaultConcurrency
		}
		b.Run(fmt.Sprintf("pollers=%d,concurrency=%d", max(1, set.Pollers), concurrency), func(b *testing.B) {
			sc, err := Named(ScenarioEvents, c.messages)
			if err != nil {
				b.Fatal(err)
			}
			client, queueURL, dlqURL := eventQueues(b, fmt.Sprintf("bench-events-%d", time.Now().UnixNano()))
			for b.Loop() {
				res, err := RunEvents(b.Context(), sc, client, queueURL, dlqURL, 100, set)
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
