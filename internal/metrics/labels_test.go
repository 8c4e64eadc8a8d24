package metrics_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// series counts the scraped series of family name by the value of label.
func series(t *testing.T, families map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	fam, ok := families[name]
	if !ok {
		return out
	}
	for _, m := range fam.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += counter(m) + histCount(m) + gauge(m)
			}
		}
	}
	return out
}

// hostile are resource types an attacker can put in event messages.
func hostile(n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		switch i % 4 {
		case 0:
			out = append(out, fmt.Sprintf("AWS::Evil::Type%d", i)) // shaped like a kind
		case 1:
			out = append(out, fmt.Sprintf("x%d\n{bad=\"label\"}", i))
		case 2:
			out = append(out, strings.Repeat("A", 1000+i))
		default:
			out = append(out, fmt.Sprintf("AWS::Lambda::Function%d", i))
		}
	}
	return out
}

func TestResourceTypeBoundedToConfiguredKinds(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.WithKinds("AWS::Lambda::Function", "AWS::S3::Bucket"))
	m.Event("AWS::Lambda::Function", "upsert", metrics.OutcomeOK, time.Millisecond)
	m.Event("", "", metrics.OutcomePermanent, 0) // a message that did not parse
	evil := hostile(1000)
	for _, rt := range evil {
		m.Event(rt, "upsert", metrics.OutcomePermanent, 0)
	}
	m.Event("AWS::S3::Bucket", "drop-table", metrics.OutcomePermanent, 0)
	fams := scrape(t, reg)
	got := series(t, fams, "port_aws_exporter_events_total", "resource_type")
	want := map[string]float64{"AWS::Lambda::Function": 1, "AWS::S3::Bucket": 1, "": 1, metrics.Other: 1000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resource_type series %v, want %v", got, want)
	}
	actions := series(t, fams, "port_aws_exporter_events_total", "action")
	if actions[metrics.Other] != 1 || len(actions) != 3 {
		t.Errorf("action series %v, want upsert, \"\" and other (for drop-table)", actions)
	}
}

func TestKindsBoundedBeforeTheyAreSet(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	evil := hostile(2000)
	for _, rt := range evil {
		m.Event(rt, "delete", metrics.OutcomeOK, 0)
	}
	got := series(t, scrape(t, reg), "port_aws_exporter_events_total", "resource_type")
	if len(got) > metrics.DefaultMaxKinds+1 {
		t.Fatalf("%d resource_type series from hostile messages, want at most %d", len(got), metrics.DefaultMaxKinds+1)
	}
	var admitted float64
	for v, n := range got {
		if v != metrics.Other && (strings.ContainsAny(v, "\n{\"") || len(v) > 200) {
			t.Errorf("value %.40q admitted as a label", v)
		}
		if v != metrics.Other {
			admitted += n
		}
	}
	if admitted != metrics.DefaultMaxKinds || got[metrics.Other] != float64(len(evil))-admitted {
		t.Errorf("%v admitted, %v other; want %d admitted and the rest other", admitted, got[metrics.Other], metrics.DefaultMaxKinds)
	}

	// Once the config is read, only its kinds pass: even one admitted before.
	m.SetKinds("AWS::SQS::Queue")
	m.Event("AWS::SQS::Queue", "upsert", metrics.OutcomeOK, 0)
	m.Event("AWS::Evil::Type0", "upsert", metrics.OutcomeOK, 0)
	got = series(t, scrape(t, reg), "port_aws_exporter_events_total", "resource_type")
	if got["AWS::SQS::Queue"] != 1 || got["AWS::Evil::Type0"] != 1 {
		t.Errorf("after SetKinds: SQS %v (want 1), Evil::Type0 %v (want 1, from before)", got["AWS::SQS::Queue"], got["AWS::Evil::Type0"])
	}
}

func TestShardAndAWSLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.WithKinds("AWS::Lambda::Function"), metrics.WithRegions("eu-west-1", "us-east-1"))
	m.ShardSynced("123456789012", "eu-west-1", "AWS::Lambda::Function", time.Second, true)
	for i := range 500 {
		// A shard message (Lambda fan-out) names account, region and kind.
		m.ShardSynced(fmt.Sprintf("acct-%d", i), fmt.Sprintf("xx-evil-%d", i), fmt.Sprintf("AWS::X::Y%d", i), time.Second, false)
		m.ObserveAWS("GetResource", fmt.Sprintf("zz-west-%d", i), &smithy.GenericAPIError{Code: fmt.Sprintf("Code%d", i)}, time.Millisecond)
		m.PortRequest(fmt.Sprintf("GET /v1/%d", i), 200+i, time.Millisecond)
		m.DeadLettered(fmt.Sprintf("reason_%d", i))
	}
	fams := scrape(t, reg)
	for _, c := range []struct {
		family, label string
		want          map[string]float64
		max           int
	}{
		{"port_aws_exporter_sync_duration_seconds", "kind", map[string]float64{"AWS::Lambda::Function": 1, metrics.Other: 500}, 2},
		{"port_aws_exporter_sync_duration_seconds", "region", map[string]float64{"eu-west-1": 1, metrics.Other: 500}, 2},
		{"port_aws_exporter_sync_failures_total", "account", map[string]float64{metrics.Other: 500}, 1},
		{"port_aws_exporter_aws_requests_total", "region", map[string]float64{metrics.Other: 500}, 1},
		{"port_aws_exporter_aws_requests_total", "outcome", nil, 65},
		{"port_aws_exporter_port_requests_total", "route", nil, 65},
		{"port_aws_exporter_port_requests_total", "status", nil, 65},
		{"port_aws_exporter_dead_letter_messages_total", "reason", nil, 65},
	} {
		got := series(t, fams, c.family, c.label)
		if len(got) == 0 || len(got) > c.max {
			t.Errorf("%s: %d %s series, want 1 to %d", c.family, len(got), c.label, c.max)
		}
		if c.want != nil && fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s %s: %v, want %v", c.family, c.label, got, c.want)
		}
		if c.want == nil && got[metrics.Other] == 0 {
			t.Errorf("%s %s: nothing counted as other past the cap: %d series", c.family, c.label, len(got))
		}
	}
}

// Labels are read by every event handler and set when the config is read
// again; go test -race checks the locking.
func TestLabelBoundsConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				m.Event(fmt.Sprintf("AWS::G%d::T%d", g, i), "upsert", metrics.OutcomeOK, 0)
				if g == 0 && i == 150 {
					m.SetKinds("AWS::G1::T1")
				}
			}
		}()
	}
	wg.Wait()
	var total float64
	got := series(t, scrape(t, reg), "port_aws_exporter_events_total", "resource_type")
	for _, n := range got {
		total += n
	}
	// Up to the cap admitted before SetKinds, the one kind set, and other.
	if total != 8*300 || len(got) > metrics.DefaultMaxKinds+2 || got[metrics.Other] == 0 {
		t.Errorf("%v events in %d series (%v other), want %d in at most %d, some other", total, len(got), got[metrics.Other], 8*300, metrics.DefaultMaxKinds+2)
	}
}
