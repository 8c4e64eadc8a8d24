package metrics_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// TestAWSClientOptionCountsSQSCalls drives a real SQS client against moto and
// reads the counts back from a scrape.
func TestAWSClientOptionCountsSQSCalls(t *testing.T) {
	srv := moto.Start(t)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	client := sqs.NewFromConfig(srv.AWSConfig(context.Background(), "eu-west-1"), func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, m.AWSClientOption())
	})
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("metrics-test")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")}); err == nil {
		t.Fatal("GetQueueUrl of a missing queue succeeded")
	}
	fams := scrape(t, reg)
	for _, c := range []struct {
		op, outcome string
		want        float64
	}{
		{"SQS.CreateQueue", "ok", 1},
		{"SQS.SendMessage", "ok", 2},
		{"SQS.GetQueueUrl", "AWS.SimpleQueueService.NonExistentQueue", 1},
	} {
		got := counter(find(t, fams, "port_aws_exporter_aws_requests_total", map[string]string{"operation": c.op, "outcome": c.outcome, "region": "eu-west-1"}))
		if got != c.want {
			t.Errorf("%s/%s counted %v, want %v", c.op, c.outcome, got, c.want)
		}
	}
}
