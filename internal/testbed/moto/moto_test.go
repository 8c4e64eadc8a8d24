package moto_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

func TestCallerIdentityThroughSDK(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	out, err := sts.NewFromConfig(srv.AWSConfig(ctx, "eu-west-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity against %s: %v", srv.URL, err)
	}
	if got := aws.ToString(out.Account); got != moto.AccountID {
		t.Errorf("account = %q, want %q", got, moto.AccountID)
	}
}

func TestResetDropsState(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(srv.AWSConfig(ctx, "us-east-1"))
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("reset-probe")}); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if n := countQueues(ctx, t, client); n != 1 {
		t.Fatalf("queues before reset = %d, want 1", n)
	}
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := countQueues(ctx, t, client); n != 0 {
		t.Errorf("queues after reset = %d, want 0", n)
	}
}

func TestStartSharesOneServer(t *testing.T) {
	a := moto.Start(t)
	b := moto.Start(t)
	if a != b || a.URL != b.URL {
		t.Errorf("two Start calls in one test binary gave %s and %s, want one shared server", a.URL, b.URL)
	}
}

func countQueues(ctx context.Context, t *testing.T, client *sqs.Client) int {
	t.Helper()
	out, err := client.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		t.Fatalf("ListQueues: %v", err)
	}
	return len(out.QueueUrls)
}
