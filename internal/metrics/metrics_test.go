package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// scrape fetches /metrics over HTTP, as Prometheus does, and parses the text format.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return families
}

// find returns the metric of family name whose labels include all of want.
func find(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	fam, ok := families[name]
	if !ok {
		t.Fatalf("metric family %s not exposed", name)
	}
next:
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no %s with labels %v", name, want)
	return nil
}

func TestMetricsAreExposed(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)

	m.Event("AWS::Lambda::Function", "upsert", metrics.OutcomeOK, 20*time.Millisecond)
	m.Event("AWS::Lambda::Function", "upsert", metrics.OutcomeOK, 30*time.Millisecond)
	m.Event("AWS::S3::Bucket", "delete", metrics.OutcomePermanent, time.Millisecond)
	m.ShardSynced("123456789012", "eu-west-1", "AWS::Lambda::Function", 3*time.Second, true)
	m.ShardSynced("123456789012", "eu-west-1", "AWS::S3::Bucket", time.Second, false)
	m.AWSRequest("GetResource", "eu-west-1", "", 40*time.Millisecond)
	m.AWSRequest("GetResource", "eu-west-1", "ThrottlingException", 10*time.Millisecond)
	m.ObserveAWS("ListResources", "us-east-1", &smithy.GenericAPIError{Code: "AccessDeniedException"}, time.Millisecond)
	m.ObserveAWS("ListResources", "us-east-1", fmt.Errorf("list: %w", context.Canceled), time.Millisecond)
	m.ObserveAWS("ListResources", "us-east-1", nil, time.Millisecond)
	m.PortRequest("POST /v1/blueprints/{blueprint}/entities/bulk", 503, 100*time.Millisecond)
	m.MessageReceived(90 * time.Second)
	m.MessageReceived(-time.Second) // clock skew between SQS and us must not produce a negative age
	m.DeadLettered("malformed_json")
	m.InFlight(3)
	m.InFlight(-1)

	fams := scrape(t, reg)
	checks := []struct {
		name   string
		labels map[string]string
		value  func(*dto.Metric) float64
		want   float64
	}{
		{"port_aws_exporter_events_total", map[string]string{"resource_type": "AWS::Lambda::Function", "outcome": "ok"}, counter, 2},
		{"port_aws_exporter_events_total", map[string]string{"resource_type": "AWS::S3::Bucket", "action": "delete", "outcome": "permanent"}, counter, 1},
		{"port_aws_exporter_event_duration_seconds", map[string]string{"outcome": "ok"}, histCount, 2},
		{"port_aws_exporter_sync_duration_seconds", map[string]string{"kind": "AWS::Lambda::Function", "region": "eu-west-1"}, histSum, 3},
		{"port_aws_exporter_sync_failures_total", map[string]string{"kind": "AWS::S3::Bucket"}, counter, 1},
		{"port_aws_exporter_aws_requests_total", map[string]string{"operation": "GetResource", "outcome": "ok"}, counter, 1},
		{"port_aws_exporter_aws_requests_total", map[string]string{"operation": "GetResource", "outcome": "ThrottlingException"}, counter, 1},
		{"port_aws_exporter_aws_request_duration_seconds", map[string]string{"operation": "GetResource"}, histCount, 2},
		{"port_aws_exporter_aws_requests_total", map[string]string{"operation": "ListResources", "outcome": "AccessDeniedException"}, counter, 1},
		{"port_aws_exporter_aws_requests_total", map[string]string{"operation": "ListResources", "outcome": "canceled"}, counter, 1},
		{"port_aws_exporter_aws_requests_total", map[string]string{"operation": "ListResources", "outcome": "ok"}, counter, 1},
		{"port_aws_exporter_port_requests_total", map[string]string{"status": "503"}, counter, 1},
		{"port_aws_exporter_queue_message_age_seconds", nil, histSum, 90},
		{"port_aws_exporter_dead_letter_messages_total", map[string]string{"reason": "malformed_json"}, counter, 1},
		{"port_aws_exporter_queue_messages_in_flight", nil, gauge, 2},
	}
	for _, c := range checks {
		if got := c.value(find(t, fams, c.name, c.labels)); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	last := find(t, fams, "port_aws_exporter_sync_last_success_timestamp_seconds", map[string]string{"kind": "AWS::Lambda::Function"})
	if age := time.Since(time.Unix(int64(gauge(last)), 0)); age < 0 || age > time.Minute {
		t.Errorf("last success timestamp is %v old, want just now", age)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	// Every method must be callable on nil: packages do not check whether metrics are enabled.
	m.Event("k", "upsert", metrics.OutcomeOK, time.Second)
	m.ShardSynced("a", "r", "k", time.Second, true)
	m.AWSRequest("op", "r", "ok", time.Second)
	m.PortRequest("route", 200, time.Second)
	m.MessageReceived(time.Second)
	m.DeadLettered("x")
	m.InFlight(1)
	m.SetKinds("k")
	m.SetRegions("r")
}

func TestNewPanicsOnDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("registering the collectors twice did not panic")
		}
	}()
	metrics.New(reg)
}

func counter(m *dto.Metric) float64   { return m.GetCounter().GetValue() }
func gauge(m *dto.Metric) float64     { return m.GetGauge().GetValue() }
func histCount(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }
func histSum(m *dto.Metric) float64   { return m.GetHistogram().GetSampleSum() }
