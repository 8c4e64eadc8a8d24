package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// eventsEnvironment points the binary, through the standard environment, at
// the events test stack (Cloud Control emulator, Port double) and at moto for
// STS and SQS, and returns the stack, moto and a config file.
func eventsEnvironment(t *testing.T) (*dispatchtest.Stack, *moto.Server, string) {
	t.Helper()
	m := moto.Start(t)
	s := dispatchtest.New(t, dispatchtest.Options{})
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDCONTROL", s.CCURL)
	t.Setenv("AWS_ENDPOINT_URL_S3", s.CCURL) // the emulator answers GetBucketLocation
	t.Setenv("AWS_ENDPOINT_URL_STS", m.URL)
	t.Setenv("AWS_ENDPOINT_URL_SQS", m.URL)
	t.Setenv("PORT_API_URL", s.PortURL)
	t.Setenv("PORT_CLIENT_ID", s.Port.ClientID())
	t.Setenv("PORT_CLIENT_SECRET", s.Port.ClientSecret())
	t.Setenv("PORT_CREDS_SECRET_ARN", "")
	return s, m, writeFile(t, "config.yaml", string(dispatchtest.ConfigYAML()))
}

func TestHandleCommand(t *testing.T) {
	s, _, cfg := eventsEnvironment(t)
	s.PutFunction(t, "eu-west-1", "test-function", 256)
	create := writeFile(t, "create.json", string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "test-function")))

	out, err := runCLI(t, "handle", "--config", cfg, create)
	if err != nil {
		t.Fatalf("handle: %v\n%s", err, out)
	}
	for _, want := range []string{"region:        eu-west-1", "action:        upsert", "identifier:    test-function", "in AWS:        true",
		"upsert lambda/test-function:", `"memorySize": 256`, "outcome: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, ok := s.Port.Entity("lambda", "test-function"); !ok {
		t.Fatal("handle did not write the entity")
	}
	if strings.Contains(out, s.Port.ClientSecret()) {
		t.Fatal("the client secret was printed")
	}

	// A dry-run delete of a function that is gone plans the deletion and writes nothing.
	s.Port.Put(dispatchtest.Datasource("eu-west-1", "AWS::Lambda::Function"), entity.Entity{Blueprint: "lambda", Identifier: "gone-function", Properties: map[string]any{}})
	del := writeFile(t, "delete.json", string(dispatchtest.FunctionMessage("eu-west-1", "DeleteFunction20150331", "gone-function")))
	out, err = runCLI(t, "handle", "--config", cfg, "--dry-run", del)
	if err != nil {
		t.Fatalf("handle --dry-run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "delete lambda/gone-function (dry run: not written)") || !strings.Contains(out, "in AWS:        false") {
		t.Errorf("dry-run output:\n%s", out)
	}
	if got := s.IDs("lambda"); !slices.Equal(got, []string{"gone-function", "test-function"}) {
		t.Fatalf("a dry run changed Port: %v", got)
	}

	// A region the config does not sync is ignored without asking Cloud
	// Control, so the output must not claim the resource is absent.
	ignored := writeFile(t, "ignored.json", string(dispatchtest.FunctionMessage("ap-south-1", "CreateFunction20150331", "test-function")))
	out, err = runCLI(t, "handle", "--config", cfg, "--dry-run", ignored)
	if err != nil {
		t.Fatalf("handle of an ignored region: %v\n%s", err, out)
	}
	if !strings.Contains(out, "note: ignored: the config does not sync AWS::Lambda::Function in ap-south-1") || strings.Contains(out, "in AWS:") {
		t.Errorf("ignored-region output:\n%s", out)
	}

	// A malformed message from standard input: exit code 2, the reason printed.
	root := newRootCommand()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	root.SetIn(strings.NewReader(`{"resource_type": "AWS::Lambda::Function"`))
	root.SetArgs([]string{"handle", "--config", cfg, "-"})
	err = root.ExecuteContext(context.Background())
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != exitDeadLetter {
		t.Fatalf("malformed message: err = %v, want exit code 2\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), "permanent failure (malformed_json)") {
		t.Errorf("malformed message output:\n%s", buf.String())
	}
}

func TestServeCommand(t *testing.T) {
	s, m, cfg := eventsEnvironment(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(m.AWSConfig(ctx, "eu-west-1"))
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("serve-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("serve-events")})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fn-a", "fn-b"} {
		s.PutFunction(t, "eu-west-1", name, 512)
	}
	// No message names this one: only the full sync at start brings it in.
	s.PutFunction(t, "us-east-1", "synced-only", 1024)
	for _, body := range []string{
		string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "fn-a")),
		string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "fn-b")),
		"this is not a message",
	} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"serve", "--config", cfg, "--queue-url", aws.ToString(src.QueueUrl), "--dead-letter-queue-url", aws.ToString(dlq.QueueUrl),
		"--sync-interval", "1h", "--listen", addr, "--grace-period", "2s", "--log-format", "text"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(runCtx) }()

	deadline := time.Now().Add(30 * time.Second)
	for len(s.IDs("lambda")) < 3 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve did not upsert the three functions within 30 s; Port has %v\n%s", s.IDs("lambda"), out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	health := get(t, "http://"+addr+"/healthz")
	if !strings.Contains(health, `"ok":true`) {
		t.Errorf("/healthz: %s", health)
	}
	var dead []types.Message
	for time.Now().Before(deadline) && len(dead) == 0 {
		r, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		dead = r.Messages
	}
	if len(dead) != 1 || aws.ToString(dead[0].MessageAttributes["reason"].StringValue) != "malformed_json" {
		t.Errorf("dead-letter queue holds %d messages (%v), want the malformed one with reason malformed_json", len(dead), dead)
	}
	wants := []string{
		`port_aws_exporter_events_total{action="upsert",outcome="ok",resource_type="AWS::Lambda::Function"} 2`,
		`port_aws_exporter_dead_letter_messages_total{reason="malformed_json"} 1`,
		`port_aws_exporter_aws_requests_total{operation="GetResource",outcome="ok",region="eu-west-1"} `,
		`port_aws_exporter_aws_requests_total{operation="ListResources",outcome="ok",region="us-east-1"} `,
		`port_aws_exporter_queue_message_age_seconds_count 3`,
		`port_aws_exporter_aws_requests_total{operation="SQS.DeleteMessageBatch",outcome="ok",region="eu-west-1"} `,
		`port_aws_exporter_sync_duration_seconds_count{account="123456789012",kind="AWS::Lambda::Function",region="us-east-1"} 1`,
	}
	// The counters of a message are settled just after it reaches the
	// dead-letter queue or is deleted: scrape until they are all there.
	var metrics string
	var missing []string
	for {
		metrics, missing = get(t, "http://"+addr+"/metrics"), nil
		for _, want := range wants {
			if !strings.Contains(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
	if !strings.Contains(metrics, `port_aws_exporter_port_requests_total{route=`) {
		t.Error("/metrics has no Port request counts")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after SIGTERM\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of cancel")
	}
	if strings.Contains(out.String(), s.Port.ClientSecret()) {
		t.Fatal("the client secret was logged")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	return string(b)
}
