package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/lambdarie"
	"github.com/port-labs/port-aws-exporter/internal/testbed/output"
)

// TestServeKilledAndRestartedConverges runs the real binary's serve, kills it
// with SIGKILL while messages are in flight (Port answers slowly), changes
// AWS while it is down (deletes and updates, with their messages), and starts
// it again. The messages it held come back after the visibility timeout;
// without a full sync (--sync-interval 0) the catalog must end equal to AWS,
// with nothing dead-lettered.
func TestServeKilledAndRestartedConverges(t *testing.T) {
	s, m, cfg := eventsEnvironment(t)
	bin := lambdarie.BuildBootstrap(t, "./cmd/port-aws-exporter")
	ctx := context.Background()
	client := sqs.NewFromConfig(m.AWSConfig(ctx, "eu-west-1"))
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("crash-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("crash-events")})
	if err != nil {
		t.Fatal(err)
	}
	send := func(event, fn string) {
		body := string(dispatchtest.FunctionMessage("eu-west-1", event, fn))
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	start := func() (*exec.Cmd, *output.Buffer) {
		var out output.Buffer
		cmd := exec.Command(bin, "serve", "--config", cfg, "--queue-url", aws.ToString(src.QueueUrl),
			"--dead-letter-queue-url", aws.ToString(dlq.QueueUrl), "--sync-interval", "0", "--listen", "127.0.0.1:0",
			"--event-visibility-timeout", "3s", "--event-timeout", "2s", "--event-verify-delay", "4s", "--log-format", "text")
		cmd.Env = os.Environ()
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	// 20 functions created; Port answers each request after 400 ms, so the
	// kill finds messages received and not yet settled.
	const functions = 20
	truth := map[string]int{}
	for i := range functions {
		fn := fmt.Sprintf("crash-%02d", i)
		s.PutFunction(t, "eu-west-1", fn, 128)
		truth[fn] = 128
		send("CreateFunction20150331", fn)
	}
	s.Port.SetLatency(400 * time.Millisecond)
	first, out := start()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.IDs("lambda")) == 0 {
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("serve wrote nothing within 30 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	landed := len(s.IDs("lambda"))

	// While it is down: a third of the functions deleted, a third updated.
	for i := range functions {
		fn := fmt.Sprintf("crash-%02d", i)
		switch i % 3 {
		case 0:
			s.CC.Delete("eu-west-1", "AWS::Lambda::Function", fn)
			truth[fn] = 0
			send("DeleteFunction20150331", fn)
		case 1:
			s.PutFunction(t, "eu-west-1", fn, 512)
			truth[fn] = 512
			send("UpdateFunctionConfiguration20150331v2", fn)
		}
	}
	s.Port.SetLatency(0)
	second, out := start()
	defer func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	}()

	check := func() []string {
		var wrong []string
		for fn, memory := range truth {
			e, ok := s.Port.Entity("lambda", fn)
			switch {
			case memory == 0 && ok, memory != 0 && !ok:
				wrong = append(wrong, fn+": present="+strconv.FormatBool(ok))
			case memory != 0 && fmt.Sprint(e.Properties["memorySize"]) != strconv.Itoa(memory):
				wrong = append(wrong, fmt.Sprintf("%s: memorySize %v, AWS %d", fn, e.Properties["memorySize"], memory))
			}
		}
		return wrong
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		wrong := check()
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: src.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		left := 0
		for _, a := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed} {
			n, _ := strconv.Atoi(attrs.Attributes[string(a)])
			left += n
		}
		if len(wrong) == 0 && left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the restart: %d messages left, wrong entities %v\n%s", left, wrong, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	dead, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Messages) != 0 {
		t.Errorf("%d messages dead-lettered; none should be", len(dead.Messages))
	}
	t.Logf("killed with %d of %d entities written; after the restart the catalog equals AWS", landed, functions)
}
