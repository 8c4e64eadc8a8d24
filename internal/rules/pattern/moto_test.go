package pattern

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// putEventsFields are the only envelope fields a PutEvents caller controls;
// EventBridge (and moto) fill in version, id, account, time and region.
var putEventsFields = map[string]bool{"source": true, "detail-type": true, "detail": true, "resources": true}

// motoEligible reports why a table case cannot go through moto, or "".
// Cases are excluded when the case says moto's semantics differ
// (moto_differs: number representation, True == 1, arrays of objects, nested
// arrays, empty arrays, "$or" as a field name), or when the event or the
// pattern use envelope fields PutEvents cannot set. moto 5.2.1 implements
// every operator (prefix, suffix, equals-ignore-case, wildcard,
// anything-but and its forms, numeric, cidr, exists, $or), so no operator is
// excluded as such.
func motoEligible(tc matchCase) string {
	if tc.MotoDiffers != "" {
		return "moto differs: " + tc.MotoDiffers
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(tc.Event), &ev); err != nil {
		return "event is not an object"
	}
	for k := range ev {
		if !putEventsFields[k] {
			return "event field " + k + " cannot be set through PutEvents"
		}
	}
	if _, ok := ev["detail"].(map[string]any); !ok {
		return "PutEvents needs a detail object"
	}
	for _, k := range []string{"source", "detail-type"} {
		if s, ok := ev[k].(string); !ok || s == "" {
			return "PutEvents needs a non-empty " + k
		}
	}
	var pat map[string]any
	if err := json.Unmarshal([]byte(tc.Pattern), &pat); err != nil {
		return "pattern is not an object"
	}
	if reason := patternUsesOnlyPutEventsFields(pat); reason != "" {
		return reason
	}
	return ""
}

func patternUsesOnlyPutEventsFields(pat map[string]any) string {
	for k, v := range pat {
		if k == "$or" {
			alts, _ := v.([]any)
			for _, alt := range alts {
				if obj, ok := alt.(map[string]any); ok {
					if r := patternUsesOnlyPutEventsFields(obj); r != "" {
						return r
					}
				}
			}
			continue
		}
		if !putEventsFields[k] {
			return "pattern field " + k + " is filled in by EventBridge"
		}
	}
	return ""
}

// TestDifferentialAgainstMoto sends every eligible table case through moto's
// EventBridge (a rule with an SQS target, PutEvents, ReceiveMessage) and
// checks that moto and this package agree on match or no match.
func TestDifferentialAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test against moto_server skipped in -short mode")
	}
	srv := moto.Start(t)
	ctx := context.Background()
	cfg := srv.AWSConfig(ctx, "us-east-1")
	eb := eventbridge.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)

	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("pattern-differential")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	queueARN := fmt.Sprintf("arn:aws:sqs:us-east-1:%s:pattern-differential", moto.AccountID)

	compared := 0
	for i, tc := range loadYAML[matchCase](t, "match.yaml") {
		if reason := motoEligible(tc); reason != "" {
			t.Logf("not compared with moto: %s (%s)", tc.Name, reason)
			continue
		}
		compared++
		t.Run(tc.Name, func(t *testing.T) {
			ruleName := fmt.Sprintf("case-%d", i)
			if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(ruleName), EventPattern: aws.String(tc.Pattern)}); err != nil {
				t.Fatalf("put rule: %v", err)
			}
			defer func() {
				_, _ = eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(ruleName), Ids: []string{"q"}})
				_, _ = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(ruleName)})
			}()
			if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(ruleName), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(queueARN)}}}); err != nil {
				t.Fatalf("put targets: %v", err)
			}
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detail-type"`
				Detail     json.RawMessage `json:"detail"`
				Resources  []string        `json:"resources"`
			}
			if err := json.Unmarshal([]byte(tc.Event), &ev); err != nil {
				t.Fatal(err)
			}
			out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				Source: aws.String(ev.Source), DetailType: aws.String(ev.DetailType),
				Detail: aws.String(string(ev.Detail)), Resources: ev.Resources,
			}}})
			if err != nil {
				t.Fatalf("put events: %v", err)
			}
			if out.FailedEntryCount != 0 {
				t.Fatalf("put events: %d failed entries: %s", out.FailedEntryCount, aws.ToString(out.Entries[0].ErrorMessage))
			}
			// moto delivers to SQS inside PutEvents, so the message is there
			// already when the call returns; no wait is needed.
			recv, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			for _, m := range recv.Messages {
				_, _ = sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle})
			}
			motoMatched := len(recv.Messages) > 0
			ours := MustCompile(tc.Pattern).Match([]byte(tc.Event))
			if motoMatched != ours {
				t.Errorf("moto matched = %v, ours = %v (table says %v)\npattern: %s\nevent:   %s", motoMatched, ours, tc.Match, tc.Pattern, tc.Event)
			}
		})
	}
	if compared < 50 {
		t.Errorf("only %d cases were compared with moto; the table should keep most cases eligible", compared)
	}
}
