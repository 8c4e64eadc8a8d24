package pattern

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// putEventsFields are the only envelope fields a PutEvents caller controls;
// EventBridge (and moto) fill in version, id, account, time and region.
var putEventsFields = map[string]bool{"source": true, "detail-type": true, "detail": true, "resources": true}

// caseMarker is a field added to each event's detail so that a delivered
// message names its case. No pattern in the table mentions it.
const caseMarker = "x-differential-case"

// motoEligible reports why a table case cannot go through moto, or "".
// Cases are excluded when the case says moto's semantics differ
// (moto_differs: number representation, True == 1, arrays of objects, nested
// and empty arrays, "$or" as a field name, the "exact" operator, IP
// spellings, CIDR host bits), or when the event or the pattern use envelope
// fields PutEvents cannot set. moto 5.2.1 implements every operator
// EventBridge documents (prefix, suffix, equals-ignore-case, wildcard,
// anything-but and its forms, numeric, cidr, exists, $or), so none of those
// is excluded as such; event-ruler's undocumented "exact" is.
func motoEligible(tc matchCase) string {
	if tc.MotoDiffers != "" {
		return "moto differs: " + tc.MotoDiffers
	}
	if strings.Contains(tc.Pattern, caseMarker) {
		return "pattern mentions the case marker field"
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
	return patternUsesOnlyPutEventsFields(pat)
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
// EventBridge and checks that moto and this package agree on match or no
// match. Each case gets its own event bus holding one rule, whose target is a
// shared SQS queue; events are sent in batches, each to its case's bus, with
// the case index added to detail; a delivered message names its case.
func TestDifferentialAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test against moto_server skipped in -short mode")
	}
	began := time.Now()
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

	type eligible struct {
		index int
		tc    matchCase
		entry ebtypes.PutEventsRequestEntry
	}
	var cases []eligible
	for i, tc := range loadYAML[matchCase](t, "match.yaml") {
		if reason := motoEligible(tc); reason != "" {
			t.Logf("not compared with moto: %s (%s)", tc.Name, reason)
			continue
		}
		var ev struct {
			Source     string         `json:"source"`
			DetailType string         `json:"detail-type"`
			Detail     map[string]any `json:"detail"`
			Resources  []string       `json:"resources"`
		}
		dec := json.NewDecoder(strings.NewReader(tc.Event))
		dec.UseNumber() // keep number text as the case wrote it
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		ev.Detail[caseMarker] = i
		detail, err := json.Marshal(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, eligible{index: i, tc: tc, entry: ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(fmt.Sprintf("case-%d", i)), Source: aws.String(ev.Source),
			DetailType: aws.String(ev.DetailType), Detail: aws.String(string(detail)), Resources: ev.Resources,
		}})
	}
	if len(cases) < 50 {
		t.Errorf("only %d cases are eligible for moto; the table should keep most cases eligible", len(cases))
	}

	// Set up a bus and a rule per case, a few at a time.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, c := range cases {
		g.Go(func() error {
			bus := aws.ToString(c.entry.EventBusName)
			if _, err := eb.CreateEventBus(gctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
				return fmt.Errorf("%s: create bus: %w", c.tc.Name, err)
			}
			if _, err := eb.PutRule(gctx, &eventbridge.PutRuleInput{Name: aws.String("rule"), EventBusName: aws.String(bus), EventPattern: aws.String(c.tc.Pattern)}); err != nil {
				return fmt.Errorf("%s: put rule: %w", c.tc.Name, err)
			}
			_, err := eb.PutTargets(gctx, &eventbridge.PutTargetsInput{Rule: aws.String("rule"), EventBusName: aws.String(bus),
				Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(queueARN)}}})
			if err != nil {
				return fmt.Errorf("%s: put targets: %w", c.tc.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(4)
	for start := 0; start < len(cases); start += 10 {
		var entries []ebtypes.PutEventsRequestEntry
		for _, c := range cases[start:min(start+10, len(cases))] {
			entries = append(entries, c.entry)
		}
		g.Go(func() error {
			out, err := eb.PutEvents(gctx, &eventbridge.PutEventsInput{Entries: entries})
			if err != nil {
				return fmt.Errorf("put events: %w", err)
			}
			if out.FailedEntryCount != 0 {
				return fmt.Errorf("put events: %d entries failed", out.FailedEntryCount)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	// moto delivers to SQS inside PutEvents, so every message is in the
	// queue now; drain it (received messages stay invisible meanwhile).
	motoMatched := map[int]bool{}
	for {
		recv, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(recv.Messages) == 0 {
			break
		}
		for _, m := range recv.Messages {
			var body struct {
				Detail map[string]json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
				t.Fatalf("message %q: %v", aws.ToString(m.Body), err)
			}
			i, err := strconv.Atoi(string(body.Detail[caseMarker]))
			if err != nil {
				t.Fatalf("message without case marker: %s", aws.ToString(m.Body))
			}
			motoMatched[i] = true
		}
	}

	t.Logf("%d cases compared with moto, %d matched there, in %v", len(cases), len(motoMatched), time.Since(began))
	for _, c := range cases {
		t.Run(c.tc.Name, func(t *testing.T) {
			ours := MustCompile(c.tc.Pattern).Match([]byte(c.tc.Event))
			if moto := motoMatched[c.index]; moto != ours {
				t.Errorf("moto matched = %v, ours = %v (table says %v)\npattern: %s\nevent:   %s", moto, ours, c.tc.Match, c.tc.Pattern, c.tc.Event)
			}
		})
	}
}
