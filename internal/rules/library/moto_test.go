package library

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// differentialMarker is added to each event's detail so that a delivered
// message names its event; no rule of the library mentions it.
const differentialMarker = "differentialCase"

// motoDiffers names the documented events whose matching relies on
// EventBridge semantics moto 5.2.1 does not share, so moto is no reference
// for them: patterns on a field of objects inside an array, which EventBridge
// matches element by element and moto does not match at all.
var motoDiffers = map[string]string{
	"ec2-instance/create-tags":                "pattern on resourcesSet.items[].resourceId",
	"ec2-vpc/tag":                             "pattern on resourcesSet.items[].resourceId",
	"autoscaling-group/create-or-update-tags": "pattern on tags[].resourceType",
}

// Every rule of the library, deployed to moto's EventBridge with an SQS
// target, delivers exactly the documented events our matcher says it matches:
// an independent implementation agrees on what the generated patterns mean.
func TestRulesAgreeWithMotoEventBridge(t *testing.T) {
	t.Parallel() // a subprocess or server round trips: overlap with the rest
	srv := moto.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := srv.AWSConfig(ctx, "us-east-1")
	eb := eventbridge.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)

	const bus, queue = "library-differential", "library-differential"
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := fmt.Sprintf("arn:aws:sqs:us-east-1:%s:%s", moto.AccountID, queue)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	rules := compileRules(t)
	for _, r := range rules {
		pattern, err := json.Marshal(r.kind.Pattern())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(r.kind.RuleName()), EventBusName: aws.String(bus),
			EventPattern: aws.String(string(pattern))}); err != nil {
			t.Fatalf("moto refuses the pattern of %s: %v", r.kind.Type, err)
		}
		// A constant template naming the rule, plus the event's marker.
		template := fmt.Sprintf(`{"rule": %q, "case": "<case>"}`, r.kind.Name)
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.kind.RuleName()), EventBusName: aws.String(bus),
			Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(queueARN), InputTransformer: &ebtypes.InputTransformer{
				InputPathsMap: map[string]string{"case": "$.detail." + differentialMarker},
				InputTemplate: aws.String(template),
			}}}}); err != nil {
			t.Fatalf("put target of %s: %v", r.kind.Type, err)
		}
	}

	files, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documented events: %v", err)
	}
	// Documented events, and the real records when they are at hand.
	events := map[string][]byte{}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(file), "testdata/events/"), ".json")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c documentedCase
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		events[name] = wrapCloudTrail(t, c.Event)
	}
	if dir := os.Getenv("PORT_AWS_EXPORTER_CLOUDTRAIL_DIR"); dir != "" || existsDir(defaultCloudTrailDir) {
		if dir == "" {
			dir = defaultCloudTrailDir
		}
		records, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range records {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			events["record/"+strings.TrimSuffix(filepath.Base(file), ".json")] = wrapCloudTrail(t, data)
		}
	}
	want := map[string]bool{} // "event rule" pairs our matcher delivers
	for name, event := range events {
		for _, o := range runRules(t, rules, event) {
			want[name+" "+o.kind.Name] = true
		}
		var env struct {
			Source     string         `json:"source"`
			DetailType string         `json:"detail-type"`
			Detail     map[string]any `json:"detail"`
		}
		if err := json.Unmarshal(event, &env); err != nil {
			t.Fatal(err)
		}
		env.Detail[differentialMarker] = name
		detail, err := json.Marshal(env.Detail)
		if err != nil {
			t.Fatal(err)
		}
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(bus), Source: aws.String(env.Source), DetailType: aws.String(env.DetailType), Detail: aws.String(string(detail)),
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put %s: %v (%d failed)", name, err, aws.ToInt32(&out.FailedEntryCount))
		}
	}

	got := map[string]bool{}
	for {
		recv, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recv.Messages) == 0 {
			break
		}
		for _, m := range recv.Messages {
			var msg struct{ Rule, Case string }
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
				t.Fatalf("moto delivered %q: %v", aws.ToString(m.Body), err)
			}
			got[msg.Case+" "+msg.Rule] = true
			if _, err := sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("our matcher delivered nothing: the comparison would prove nothing")
	}
	skipped := 0
	for k := range want {
		if motoDiffers[strings.Fields(k)[0]] != "" {
			delete(want, k)
			skipped++
		}
	}
	var onlyOurs, onlyMoto []string
	for k := range want {
		if !got[k] {
			onlyOurs = append(onlyOurs, k)
		}
	}
	for k := range got {
		if !want[k] {
			onlyMoto = append(onlyMoto, k)
		}
	}
	sort.Strings(onlyOurs)
	sort.Strings(onlyMoto)
	if len(onlyOurs)+len(onlyMoto) > 0 {
		t.Errorf("matched by our matcher only: %v\nmatched by moto only: %v", onlyOurs, onlyMoto)
	}
	t.Logf("%d (event, rule) deliveries agree; %d left out where moto differs", len(want), skipped)
}
