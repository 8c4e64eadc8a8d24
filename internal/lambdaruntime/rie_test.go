package lambdaruntime_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/testbed/lambdarie"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// TestBootstrapUnderRuntimeEmulator runs the real binary as a Lambda
// bootstrap under aws-lambda-rie, configured only through the environment
// as on AWS: an SQS event (ok, malformed, Port 503), a scheduled event that
// fans the full sync out, and one of the shard messages it queued.
func TestBootstrapUnderRuntimeEmulator(t *testing.T) {
	rie := lambdarie.Find(t)
	m := moto.Start(t)
	bootstrap := lambdarie.BuildBootstrap(t, "./cmd/port-aws-exporter")
	var bucketsDown atomic.Bool
	bucketsDown.Store(true)
	s := dispatchtest.New(t, dispatchtest.Options{PortMiddleware: dispatchtest.FailBlueprint("bucket", bucketsDown.Load)})
	ctx := context.Background()
	client := sqs.NewFromConfig(m.AWSConfig(ctx, "eu-west-1"))
	srcURL, srcARN, dlqURL := queues(t, client, "rie-events")

	configPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(configPath, dispatchtest.ConfigYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	emu := lambdarie.Start(t, rie, bootstrap, lambdarie.Options{Timeout: 60 * time.Second, Env: map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_CLOUDCONTROL": s.CCURL, "AWS_ENDPOINT_URL_S3": s.CCURL, "AWS_ENDPOINT_URL_STS": m.URL, "AWS_ENDPOINT_URL_SQS": m.URL,
		"CONFIG_URL": configPath, "EVENTS_QUEUE_URL": srcURL,
		"PORT_API_URL": s.PortURL, "PORT_CLIENT_ID": s.Port.ClientID(), "PORT_CLIENT_SECRET": s.Port.ClientSecret(),
	}})

	s.PutFunction(t, "eu-west-1", "test-function", 256)
	if err := s.CC.Put("us-east-1", "AWS::S3::Bucket", "logs", map[string]any{"BucketName": "logs", "Arn": "arn:aws:s3:::logs"}); err != nil {
		t.Fatal(err)
	}
	sqsEvent := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		record("create", srcARN, string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "test-function"))),
		record("malformed", srcARN, "{not json"),
		record("bucket", srcARN, `{"resource_type":"AWS::S3::Bucket","region":"\"us-east-1\"","identifier":"\"logs\""}`),
	}}
	payload, _ := json.Marshal(sqsEvent)
	answer, err := emu.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp lambdaevents.SQSEventResponse
	if err := json.Unmarshal(answer, &resp); err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bucket" {
		t.Fatalf("SQS invocation answered %s (%v), want batchItemFailures = [bucket]\n%s", answer, err, emu.Output())
	}
	if _, ok := s.Port.Entity("lambda", "test-function"); !ok {
		t.Fatalf("test-function not upserted\n%s", emu.Output())
	}
	dead := receiveAll(t, client, dlqURL)
	if len(dead) != 1 || aws.ToString(dead[0].MessageAttributes[queue.AttrReason].StringValue) != events.ReasonMalformedJSON {
		t.Fatalf("dead-letter queue holds %d messages, want the malformed one with its reason", len(dead))
	}

	// The scheduled sync fans out one shard message per shard.
	answer, err = emu.Invoke(ctx, []byte(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))
	if err != nil || string(answer) != `{"shards_sent":3}` {
		t.Fatalf("scheduled invocation answered %s (%v), want 3 shards sent\n%s", answer, err, emu.Output())
	}
	queued := receiveAll(t, client, srcURL)
	if len(queued) != 3 {
		t.Fatalf("events queue holds %d messages after the fan-out, want 3 shard messages", len(queued))
	}

	// Port recovers; the shard messages, delivered as SQS records, sync their shards.
	bucketsDown.Store(false)
	var shardEvent lambdaevents.SQSEvent
	for _, q := range queued {
		shardEvent.Records = append(shardEvent.Records, recordOf(q, srcARN))
	}
	payload, _ = json.Marshal(shardEvent)
	answer, err = emu.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(answer, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("shard invocation answered %s (%v), want no failures\n%s", answer, err, emu.Output())
	}
	if got := s.IDs("bucket"); !slices.Equal(got, []string{"logs"}) {
		t.Fatalf("after the shard syncs bucket holds %v, want [logs]", got)
	}
	if strings.Contains(emu.Output(), s.Port.ClientSecret()) {
		t.Fatal("the function logged the Port client secret")
	}
}
