package queue_test

// The attack corpus of internal/dispatch (testdata/attacks/corpus.yaml)
// through serve's consumer: each case's record goes through its rule and the
// InputTransformer as `rules test` runs them, the rendered bodies are sent to
// a real SQS queue on moto, and queue.Consumer runs with the dispatchtest
// Handler until the queue is drained. The same expectations hold, and
// dead-lettered messages are on the DLQ with their reason attribute. (The
// corpus loader is repeated here: test files of another package cannot be
// imported.)

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

const attacksDir = "../dispatch/testdata/attacks"

type attackCase struct {
	Name   string         `json:"name"`
	Attack string         `json:"attack"`
	Rule   string         `json:"rule"`
	Kinds  []string       `json:"kinds"`
	Setup  string         `json:"setup"`
	Record string         `json:"record"`
	Patch  map[string]any `json:"patch"`
	AWS    []struct {
		Region     string         `json:"region"`
		Type       string         `json:"type"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
	} `json:"aws"`
	Port []struct {
		Blueprint  string         `json:"blueprint"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
		Owner      string         `json:"owner"`
		Region     string         `json:"region"`
		Kind       string         `json:"kind"`
	} `json:"port"`
	CCFault *struct {
		Scope cloudcontrol.Scope     `json:"scope"`
		Kind  cloudcontrol.FaultKind `json:"kind"`
	} `json:"cc_fault"`
	Want struct {
		Matched     *bool             `json:"matched"`
		Status      string            `json:"status"`
		Reason      string            `json:"reason"`
		Kept        []string          `json:"kept"`
		Gone        []string          `json:"gone"`
		Listings    *int              `json:"listings"`
		CCCalls     *int              `json:"cc_calls"`
		Decision    map[string]string `json:"decision"`
		MaxMillis   int               `json:"max_millis"`
		RenderError bool              `json:"render_error"`
	} `json:"want"`
}

var (
	libraryRegions = []string{"eu-west-1", "us-east-1", "us-west-1", "us-west-2"}
	quiet          = slog.New(slog.NewTextHandler(io.Discard, nil))
	repeatRE       = regexp.MustCompile(`\$\{repeat (\d+) ([^}]*)\}`)
)

func expand(s string) string {
	return repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		p := repeatRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[1])
		return strings.Repeat(p[2], n)
	})
}

func attackEvent(t *testing.T, c attackCase) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(attacksDir, "records", c.Record))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(c.Patch))
	for k := range c.Patch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := c.Patch[k]
		if s, ok := v.(string); ok {
			v = expand(s)
		}
		m, path := doc, strings.Split(k, ".")
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = v
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// attackBodies runs the event through the case's rules as `rules test` does.
func attackBodies(t *testing.T, c attackCase, event []byte) (bodies []string, matched bool) {
	t.Helper()
	var rules []template.Rule
	var err error
	if c.Rule == "seed" {
		rules, err = template.ParseFile(filepath.Join(attacksDir, "seed-event-rule-template.yaml"))
	} else {
		var ks []library.Kind
		if ks, err = library.Select(c.Kinds); err == nil {
			var cf []byte
			if cf, err = library.CloudFormation(ks); err == nil {
				rules, err = template.Parse(cf, "library.yaml")
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := suite.Run(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Matches {
		matched = true
		for _, tg := range m.Targets {
			if tg.Message == "" {
				t.Fatalf("rule %s rendered nothing: %s", m.Rule, tg.Error)
			}
			bodies = append(bodies, tg.Message)
		}
	}
	return bodies, matched
}

func attackStack(t *testing.T, c attackCase, region string) *dispatchtest.Stack {
	t.Helper()
	opts := dispatchtest.Options{Logger: quiet}
	if c.Setup == "library" {
		ks, err := library.Select(c.Kinds)
		if err != nil {
			t.Fatal(err)
		}
		b := library.NewBundle(ks)
		cfg, err := b.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(cfg, &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc["resources"].([]any) {
			r.(map[string]any)["selector"].(map[string]any)["aws"] = map[string]any{"regions": libraryRegions}
		}
		if opts.Config, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		if opts.Blueprints, err = b.BlueprintsJSON(); err != nil {
			t.Fatal(err)
		}
	}
	s := dispatchtest.New(t, opts)
	for _, r := range c.AWS {
		props := map[string]any{}
		for k, v := range r.Properties {
			if str, ok := v.(string); ok {
				v = expand(str)
			}
			props[k] = v
		}
		if err := s.CC.Put(r.Region, r.Type, expand(r.Identifier), props); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.Port {
		ds := p.Owner
		switch p.Owner {
		case "", "exporter":
			rg, kind := p.Region, p.Kind
			if rg == "" {
				rg = region
			}
			if kind == "" {
				kind = "AWS::Lambda::Function"
			}
			ds = dispatchtest.Datasource(rg, kind)
		case "hand":
			ds = "Port UI (made by hand)"
		}
		props := p.Properties
		if props == nil {
			props = map[string]any{}
		}
		s.Port.Put(ds, entity.Entity{Blueprint: p.Blueprint, Identifier: expand(p.Identifier), Properties: props})
	}
	if c.CCFault != nil {
		s.CC.SetFault(c.CCFault.Scope, c.CCFault.Kind)
	}
	return s
}

func TestAttackCorpusThroughSQS(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(attacksDir, "corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []attackCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("corpus.yaml: %v", err)
	}
	if len(cases) < 40 {
		t.Fatalf("corpus.yaml has %d cases, want at least 40", len(cases))
	}
	client := sqsOnMoto(t)
	sent := 0
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			event := attackEvent(t, c)
			bodies, matched := attackBodies(t, c, event)
			if !matched {
				continue // nothing reaches the queue; the dispatch corpus checks the rule
			}
			sent++
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				runAttackOnSQS(t, client, i, c, event, bodies)
			})
		}
	})
	if sent < 30 {
		t.Errorf("only %d cases reached the queue, want at least 30", sent)
	}
}

func runAttackOnSQS(t *testing.T, client *sqs.Client, i int, c attackCase, event []byte, bodies []string) {
	var e struct {
		AWSRegion string `json:"awsRegion"`
		Region    string `json:"region"`
	}
	_ = json.Unmarshal(event, &e)
	region := e.AWSRegion
	if region == "" {
		region = e.Region
	}
	s := attackStack(t, c, region)
	srcURL, _ := createQueue(t, client, fmt.Sprintf("attack-%d", i), nil)
	dlqURL, _ := createQueue(t, client, fmt.Sprintf("attack-%d-dlq", i), nil)
	accepted := 0
	for _, b := range bodies {
		_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(srcURL), MessageBody: aws.String(b)})
		if err != nil {
			// SQS refuses it (too large, or characters SQS does not carry):
			// nothing reaches the exporter, which is as safe as a dead letter.
			t.Logf("SQS refused the %d-byte body: %v", len(b), err)
			if c.Want.Status != "permanent" {
				t.Errorf("SQS refused a body the case expects to be handled (%s)", c.Want.Status)
			}
			continue
		}
		accepted++
	}
	c2 := &queue.Consumer{Client: client, QueueURL: srcURL, Handler: s.Handler, WaitTime: time.Second,
		VisibilityTimeout: 2 * time.Second, Logger: quiet,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: dlqURL, SourceQueueURL: srcURL}}
	stop := runConsumer(t, c2)
	if c.Want.Status == "transient" {
		// Redelivered until it succeeds: wait for the reads, then stop.
		waitFor(t, "the message to be handled", 20*time.Second, func() bool { return s.CC.TotalCounts().Calls > 0 })
	} else {
		waitFor(t, "the queue to drain", 30*time.Second, func() bool {
			v, f := queueCounts(t, client, srcURL)
			return v == 0 && f == 0
		})
	}
	stop()

	for _, ref := range c.Want.Kept {
		bp, id, _ := strings.Cut(expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); !ok {
			t.Errorf("%s was deleted, want it kept", ref)
		}
	}
	for _, ref := range c.Want.Gone {
		bp, id, _ := strings.Cut(expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); ok {
			t.Errorf("%s is still in Port, want it gone", ref)
		}
	}
	if c.Want.Listings != nil {
		n := 0
		for _, rg := range libraryRegions {
			n += s.CC.Counts(cloudcontrol.OpListResources, rg).Calls
		}
		if n != *c.Want.Listings {
			t.Errorf("%d ListResources calls, want %d", n, *c.Want.Listings)
		}
	}
	dead := drain(t, client, dlqURL)
	switch c.Want.Status {
	case "permanent":
		if len(dead) != accepted {
			t.Fatalf("dead-letter queue holds %d messages, want the %d sent", len(dead), accepted)
		}
		for _, m := range dead {
			if got := aws.ToString(m.MessageAttributes[queue.AttrReason].StringValue); got != c.Want.Reason {
				t.Errorf("dead letter reason %q, want %q", got, c.Want.Reason)
			}
			if !slices.Contains(bodies, aws.ToString(m.Body)) {
				t.Errorf("dead letter body is not a body sent")
			}
		}
	default:
		if len(dead) != 0 {
			t.Errorf("dead-letter queue holds %d messages, want none (reason %q)", len(dead), aws.ToString(dead[0].MessageAttributes[queue.AttrReason].StringValue))
		}
	}
}
