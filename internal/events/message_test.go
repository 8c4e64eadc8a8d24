package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

type messageCase struct {
	Name   string           `json:"name"`
	Body   string           `json:"body"`
	Want   *events.Decision `json:"want"`
	Reason string           `json:"reason"`
	// Error, when set, is a substring the permanent error must hold: what a
	// user reads in the log and the dead-letter attribute.
	Error string `json:"error"`
}

func loadMessageCases(t testing.TB) []messageCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/messages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []messageCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/messages.yaml: %v", err)
	}
	return cases
}

// parseAndEvaluate is what a handler does with a body before reconciling.
func parseAndEvaluate(ctx context.Context, body []byte) (events.Decision, error) {
	msg, err := events.ParseMessage(body)
	if err != nil {
		return events.Decision{}, err
	}
	return events.Evaluate(ctx, msg)
}

func TestMessages(t *testing.T) {
	cases := loadMessageCases(t)
	if len(cases) < 50 {
		t.Fatalf("testdata/messages.yaml has %d cases, want at least 50", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if (c.Want == nil) == (c.Reason == "") {
				t.Fatal("a case needs exactly one of want and reason")
			}
			got, err := parseAndEvaluate(context.Background(), []byte(c.Body))
			if c.Reason != "" {
				if err == nil {
					t.Fatalf("got decision %+v, want a permanent error %s", got, c.Reason)
				}
				if !errors.Is(err, events.ErrPermanent) {
					t.Fatalf("error %v is not permanent", err)
				}
				if r := events.ReasonOf(err); r != c.Reason {
					t.Fatalf("reason %q (%v), want %q", r, err, c.Reason)
				}
				if !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("error %q lacks %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != *c.Want {
				t.Fatalf("decision %+v, want %+v", got, *c.Want)
			}
		})
	}
}

func TestEvaluateCancelledIsNotPermanent(t *testing.T) {
	// Message expressions cannot loop (jq.CompileMessage refuses range), so
	// the caller's context is cancelled before a legitimate one runs.
	msg, err := events.ParseMessage([]byte(`{"resource_type":"AWS::S3::Bucket","region":"\"us-east-1\"","identifier":"\"b\""}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = events.Evaluate(ctx, msg)
	if err == nil {
		t.Fatal("evaluation of an endless expression under a cancelled context succeeded")
	}
	if errors.Is(err, events.ErrPermanent) {
		t.Fatalf("the caller's own cancellation was reported as permanent: %v", err)
	}
}

func TestShardMessageRoundTrip(t *testing.T) {
	key, err := events.NewShardKey("a-port-client-secret-of-some-length")
	if err != nil {
		t.Fatal(err)
	}
	req := events.ShardRequest{Shard: source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::ECS::Service"},
		RequestedAt: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	body, attrs, err := key.ShardMessage(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := events.Parse(body, attrs, key)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	if msg.Shard == nil {
		t.Fatalf("%s parsed as an event message", body)
	}
	got := *msg.Shard
	if got.Shard.String() != req.Shard.String() || !got.RequestedAt.Equal(req.RequestedAt) {
		t.Fatalf("round trip gave %+v, want %+v", got, req)
	}
	if _, err := events.Evaluate(context.Background(), msg); !errors.Is(err, events.ErrPermanent) {
		t.Fatalf("evaluating a shard message as an event: %v, want a permanent error", err)
	}

	// Every way of getting the signature wrong is forged_shard_message.
	other, _ := events.NewShardKey("another-secret-of-enough-length")
	_, otherAttrs, _ := other.ShardMessage(req)
	tampered := []byte(strings.Replace(string(body), "eu-west-1", "us-east-1", 1))
	cases := []struct {
		name  string
		body  []byte
		attrs map[string]string
		key   *events.ShardKey
	}{
		{"no attribute", body, nil, key},
		{"signed by another key", body, otherAttrs, key},
		{"body changed after signing", tampered, attrs, key},
		{"runtime without a key", body, attrs, nil},
		{"empty signature", body, map[string]string{events.SignatureAttribute: ""}, key},
	}
	if len(cases) < 5 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		_, err := events.Parse(c.body, c.attrs, c.key)
		if events.ReasonOf(err) != events.ReasonForgedShardMessage {
			t.Errorf("%s: %v, want %s", c.name, err, events.ReasonForgedShardMessage)
		}
	}
}

func TestShardKeyNeedsASecret(t *testing.T) {
	if _, err := events.NewShardKey(""); err == nil {
		t.Fatal("an empty secret made a key")
	}
}

// TestHostileExpressionIsCheap: a 120 KB expression of nested brackets is
// refused before gojq parses it, in well under a millisecond per message.
func TestHostileExpressionIsCheap(t *testing.T) {
	nested := strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000)
	body, _ := json.Marshal(map[string]string{"resource_type": "AWS::Lambda::Function", "region": `"eu-west-1"`, "identifier": nested})
	start := time.Now()
	allocs := testing.AllocsPerRun(5, func() {
		msg, err := events.ParseMessage(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := events.Evaluate(context.Background(), msg); events.ReasonOf(err) != events.ReasonJQError {
			t.Fatalf("hostile expression: %v, want jq_error", err)
		}
	})
	if took := time.Since(start) / 6; took > 50*time.Millisecond {
		t.Errorf("a hostile message took %v", took)
	}
	// Parsing the body itself allocates; the expression must add nothing
	// near the hundreds of megabytes gojq spent on it.
	if allocs > 20_000 {
		t.Errorf("%v allocations per hostile message", allocs)
	}
}

// FuzzParseAndEvaluate feeds arbitrary bodies through parsing and evaluation:
// neither may panic, every failure must be permanent with a known reason, and
// every success must satisfy the decision's invariants.
func FuzzParseAndEvaluate(f *testing.F) {
	for _, c := range loadMessageCases(f) {
		f.Add([]byte(c.Body))
	}
	reasons := map[string]bool{
		events.ReasonMalformedJSON: true, events.ReasonMissingField: true, events.ReasonInvalidField: true,
		events.ReasonJQError: true, events.ReasonBadAction: true, events.ReasonBadRegion: true,
		events.ReasonBadIdentifier: true, events.ReasonBadShardMessage: true, events.ReasonIdentifierMismatch: true,
		events.ReasonForgedShardMessage: true, events.ReasonDuplicateKey: true, events.ReasonTooLarge: true,
		events.ReasonBadAccount: true,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := events.ParseMessage(body)
		if err != nil {
			if !reasons[events.ReasonOf(err)] {
				t.Fatalf("parse error %v has reason %q", err, events.ReasonOf(err))
			}
			return
		}
		if msg.Shard != nil {
			t.Fatalf("an unsigned body became a shard request: %q", body)
		}
		d, err := events.Evaluate(context.Background(), msg)
		if err != nil {
			if !reasons[events.ReasonOf(err)] {
				t.Fatalf("evaluate error %v has reason %q", err, events.ReasonOf(err))
			}
			return
		}
		if d.Action != events.ActionUpsert && d.Action != events.ActionDelete {
			t.Fatalf("action %q", d.Action)
		}
		if d.Region == "" || d.Identifier == "" || d.ResourceType != msg.ResourceType {
			t.Fatalf("incomplete decision %+v", d)
		}
		checkExtension(t, d)
	})
}

// checkExtension asserts what a decision's optional identifiers promise:
// they agree with identifier where the contract makes them the same thing,
// entity_identifier is one Port accepts, and the batch key follows the
// Cloud Control identifier.
func checkExtension(t *testing.T, d events.Decision) {
	t.Helper()
	if d.Action == events.ActionUpsert && d.ResourceIdentifier != "" && d.ResourceIdentifier != d.Identifier {
		t.Fatalf("upsert accepted with identifier %q and resource_identifier %q", d.Identifier, d.ResourceIdentifier)
	}
	if d.EntityIdentifier != "" {
		if err := entity.ValidateIdentifier(d.EntityIdentifier); err != nil {
			t.Fatalf("entity_identifier %q accepted: %v", d.EntityIdentifier, err)
		}
		if d.Action == events.ActionDelete && d.EntityIdentifier != d.Identifier {
			t.Fatalf("delete accepted with identifier %q and entity_identifier %q", d.Identifier, d.EntityIdentifier)
		}
	}
	if d.LookupIdentifier() == "" || d.DeleteIdentifier() == "" {
		t.Fatalf("decision %+v has no lookup or delete identifier", d)
	}
}

// FuzzEvaluateExpressions fuzzes the jq expressions of a well-formed message
// (the seed's three and the extension's two): whatever a rule writes, evaluation ends within its time bound with
// a decision or a permanent error, never a panic or a hang.
func FuzzEvaluateExpressions(f *testing.F) {
	f.Add(`"eu-west-1"`, `if .eventName | startswith("Delete") then "delete" else "upsert" end`, `if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end`, ``, ``)
	f.Add(`.region`, `"UPSERT"`, `[.a, .b] | join("|")`, `[.a, .b] | join("|")`, `.a`)
	f.Add(`$ENV.AWS_REGION`, `input`, `env.HOME`, `$__loc__`, `input_filename`)
	f.Add(`def f: f; f`, `range(1e9)`, `[limit(3; repeat(1))] | length`, `range(2)`, `"a|b"`)
	f.Add(`.detail["awsRegion"]`, ``, `.detail.requestParameters.bucketName // .detail.responseElements.x`, `.requestFunctionName`, `"arn:aws:s3:::" + .requestFunctionName`)
	f.Add(`"us-east-1"`, `"delete"`, `"arn:aws:s3:::b"`, `"b"`, `"arn:aws:s3:::b"`)
	f.Fuzz(func(t *testing.T, region, action, identifier, resourceIdentifier, entityIdentifier string) {
		doc := map[string]any{
			"resource_type": "AWS::S3::Bucket", "region": region, "action": action, "identifier": identifier,
			"resource_identifier": resourceIdentifier, "entity_identifier": entityIdentifier,
			"eventName": "DeleteBucket", "requestFunctionName": "b", "responseFunctionName": "",
			"detail": map[string]any{"awsRegion": "us-east-1", "requestParameters": map[string]any{"bucketName": "b"}},
		}
		body, err := json.Marshal(doc)
		if err != nil {
			t.Skip()
		}
		msg, err := events.ParseMessage(body)
		if err != nil {
			if !errors.Is(err, events.ErrPermanent) {
				t.Fatalf("parse error %v is not permanent", err)
			}
			return
		}
		start := time.Now()
		d, err := events.Evaluate(context.Background(), msg)
		if took := time.Since(start); took > 5*jq.MessageTimeout+time.Second {
			t.Fatalf("evaluation took %v, past the per-expression bound", took)
		}
		if err != nil {
			if !errors.Is(err, events.ErrPermanent) || events.ReasonOf(err) == "" {
				t.Fatalf("evaluate error %v is not permanent with a reason", err)
			}
			return
		}
		if d.Region == "" || d.Identifier == "" || (d.Action != events.ActionUpsert && d.Action != events.ActionDelete) {
			t.Fatalf("incomplete decision %+v", d)
		}
		checkExtension(t, d)
	})
}
