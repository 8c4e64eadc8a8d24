package lambdaruntime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// emfCounts parses the EMF lines of one invocation's log, checks each is a
// record CloudWatch accepts, and sums metric's values by the given labels.
func emfCounts(t *testing.T, log []byte, metric string, labels ...string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(log))
	lines := 0
	for sc.Scan() {
		lines++
		var rec metrics.EMFRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not an EMF record: %v", sc.Text(), err)
		}
		if age := time.Since(time.UnixMilli(rec.AWS.Timestamp)); age < 0 || age > time.Minute {
			t.Errorf("record timestamp %d is %v old", rec.AWS.Timestamp, age)
		}
		if len(rec.AWS.CloudWatchMetrics) == 0 {
			t.Fatalf("record without a directive: %s", sc.Text())
		}
		for _, d := range rec.AWS.CloudWatchMetrics {
			if d.Namespace != metrics.DefaultEMFNamespace || len(d.Metrics) == 0 || len(d.Metrics) > 100 {
				t.Errorf("directive %+v: want namespace %s and 1 to 100 metrics", d, metrics.DefaultEMFNamespace)
			}
			for _, set := range d.Dimensions {
				if len(set) > 30 {
					t.Errorf("dimension set %v: more than CloudWatch's 30", set)
				}
				for _, dim := range set {
					if v, ok := rec.Fields[dim].(string); !ok || v == "" {
						t.Errorf("dimension %s has no string value in %s", dim, sc.Text())
					}
				}
			}
			for _, m := range d.Metrics {
				v, ok := rec.Fields[m.Name].(float64)
				if !ok {
					t.Errorf("metric %s has no numeric value in %s", m.Name, sc.Text())
				}
				if m.Name != metric {
					continue
				}
				var key []string
				for _, l := range labels {
					key = append(key, fmt.Sprint(rec.Fields[l]))
				}
				out[strings.Join(key, "/")] += v
			}
		}
	}
	if lines == 0 {
		t.Fatal("the invocation wrote no EMF line")
	}
	return out
}

// promCounts reads the same counter from the registry (what the handler counted).
func promCounts(t *testing.T, reg *prometheus.Registry, metric string, labels ...string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			var key []string
			for _, l := range labels {
				v := got[l]
				if v == "" {
					v = metrics.EMFNone
				}
				key = append(key, v)
			}
			out[strings.Join(key, "/")] += m.GetCounter().GetValue()
		}
	}
	return out
}

// TestEMFRecordsEqualWhatTheHandlerCounted runs the Lambda handler on a batch
// (5 good messages, 2 malformed ones dead-lettered, 1 whose Port write fails),
// parses the EMF lines it wrote and checks them against the handler's own
// counters; a second invocation writes only its own increases.
func TestEMFRecordsEqualWhatTheHandlerCounted(t *testing.T) {
	mt := moto.Start(t)
	client := sqs.NewFromConfig(mt.AWSConfig(context.Background(), "eu-west-1"))
	_, srcARN, _ := queues(t, client, "lambda-emf")
	s := dispatchtest.New(t, dispatchtest.Options{PortMiddleware: dispatchtest.FailBlueprint("bucket", func() bool { return true })})
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.WithKinds("AWS::Lambda::Function", "AWS::S3::Bucket"), metrics.WithRegions("eu-west-1", "us-east-1"))
	batch, err := dispatch.New(s.Controller, dispatch.Options{ShardKey: s.ShardKey, Concurrency: 4, Metrics: m, UnitTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	h := &lambdaruntime.Handler{Batch: batch, SQS: client, Metrics: m, EMF: &metrics.EMF{Gatherer: reg, Out: &log}}

	var ev lambdaevents.SQSEvent
	for i := range 5 {
		name := fmt.Sprintf("emf-%d", i)
		s.PutFunction(t, "eu-west-1", name, 128)
		ev.Records = append(ev.Records, record("ok-"+name, srcARN, string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", name))))
	}
	if err := s.CC.Put("us-east-1", "AWS::S3::Bucket", "logs", map[string]any{"BucketName": "logs", "Arn": "arn:aws:s3:::logs"}); err != nil {
		t.Fatal(err)
	}
	ev.Records = append(ev.Records,
		record("bad-json", srcARN, `{"resource_type": `),
		record("bad-action", srcARN, `{"resource_type":"AWS::Lambda::Function","region":"\"eu-west-1\"","identifier":"\"x\"","action":"\"destroy\""}`),
		record("bucket-503", srcARN, `{"resource_type":"AWS::S3::Bucket","region":"\"us-east-1\"","identifier":"\"logs\""}`),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := invoke(t, h, ctx, ev); err != nil {
		t.Fatal(err)
	}

	byOutcome := emfCounts(t, log.Bytes(), "port_aws_exporter_events_total", "outcome")
	if want := map[string]float64{"ok": 5, "permanent": 2, "transient": 1}; !maps.Equal(byOutcome, want) {
		t.Errorf("EMF events by outcome %v, want %v", byOutcome, want)
	}
	for _, c := range []struct {
		metric string
		labels []string
	}{
		{"port_aws_exporter_events_total", []string{"resource_type", "action", "outcome"}},
		{"port_aws_exporter_dead_letter_messages_total", []string{"reason"}},
		{"port_aws_exporter_failures_total", []string{"scope", "cause"}},
	} {
		got, want := emfCounts(t, log.Bytes(), c.metric, c.labels...), promCounts(t, reg, c.metric, c.labels...)
		if len(want) == 0 || !maps.Equal(got, want) {
			t.Errorf("%s by %v: EMF %v, handler counted %v", c.metric, c.labels, got, want)
		}
	}
	reasons := emfCounts(t, log.Bytes(), "port_aws_exporter_dead_letter_messages_total", "reason")
	if want := map[string]float64{events.ReasonMalformedJSON: 1, events.ReasonBadAction: 1}; !maps.Equal(reasons, want) {
		t.Errorf("EMF dead letters by reason %v, want %v", reasons, want)
	}
	ages := emfCounts(t, log.Bytes(), "port_aws_exporter_queue_message_age_seconds_count")
	if ages[""] != float64(len(ev.Records)) {
		t.Errorf("EMF message ages counted %v, want %d", ages, len(ev.Records))
	}
	// The rollup dimension set the alarms read is declared.
	if !strings.Contains(log.String(), `"Dimensions":[["action","outcome","resource_type"],["outcome"]]`) {
		t.Errorf("events records lack the [outcome] rollup:\n%s", log.String())
	}

	// A second invocation: only its own increases.
	log.Reset()
	s.PutFunction(t, "eu-west-1", "emf-late", 128)
	second := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		record("ok-late", srcARN, string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "emf-late"))),
		record("ok-late-again", srcARN, string(dispatchtest.FunctionMessage("eu-west-1", "UpdateFunctionConfiguration20150331v2", "emf-late"))),
	}}
	if _, err := invoke(t, h, ctx, second); err != nil {
		t.Fatal(err)
	}
	byOutcome = emfCounts(t, log.Bytes(), "port_aws_exporter_events_total", "outcome")
	if total := byOutcome["ok"] + byOutcome["duplicate"]; total != 2 || len(slices.Collect(maps.Keys(byOutcome))) > 2 {
		t.Errorf("second invocation's EMF events %v, want its 2 messages only", byOutcome)
	}
	if strings.Contains(log.String(), "dead_letter_messages_total") {
		t.Errorf("second invocation repeated the first one's dead letters:\n%s", log.String())
	}
}
