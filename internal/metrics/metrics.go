// Package metrics holds every Prometheus collector the exporter exposes, so
// that metric names, labels and buckets are defined in one place and the
// packages doing the work only call small methods (or hand a method value to
// the Observe hooks of the Port client and the Cloud Control reader).
//
// A nil *Metrics is valid and records nothing: packages take a *Metrics
// without checking whether the binary exposes metrics at all.
//
// Label values come partly from outside: an event message names its
// resource type, a shard message its account, region and kind, and AWS its
// error codes. Every label is therefore bounded, so that no message can
// create series without end: resource_type and kind to the configured kinds
// (WithKinds or SetKinds), region to the configured regions (WithRegions or
// SetRegions), account to 12-digit ids, action to the events' actions, and
// the labels filled by code or by AWS and Port answers to a fixed number of
// distinct values of their shape. A value refused is counted as Other
// ("other"). Until the kinds (or regions) are given, values shaped like a
// Cloud Control type (or a region) are admitted first come, up to
// DefaultMaxKinds (DefaultMaxRegions).
package metrics

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "port_aws_exporter"

// Event outcomes, the values of the "outcome" label of EventsTotal.
const (
	OutcomeOK        = "ok"
	OutcomeTransient = "transient"
	OutcomePermanent = "permanent"
	OutcomeDuplicate = "duplicate"
)

// Metrics is the exporter's set of collectors.
type Metrics struct {
	events          *prometheus.CounterVec
	eventDuration   *prometheus.HistogramVec
	syncDuration    *prometheus.HistogramVec
	syncLastSuccess *prometheus.GaugeVec
	syncFailures    *prometheus.CounterVec
	awsRequests     *prometheus.CounterVec
	awsLatency      *prometheus.HistogramVec
	portRequests    *prometheus.CounterVec
	portLatency     *prometheus.HistogramVec
	messageAge      prometheus.Observer
	deadLetters     *prometheus.CounterVec
	inFlight        prometheus.Gauge
	failures        *prometheus.CounterVec
	leaseHeld       prometheus.Gauge
	awsPace         *prometheus.GaugeVec
	portPace        prometheus.Gauge

	collectors []prometheus.Collector
	families   []Family

	// bounds of the label values
	kinds, regions, accounts, actions              *label
	eventOutcomes, awsOutcomes, operations, routes *label
	statuses, reasons, scopes, causes              *label
}

// Option configures New.
type Option func(*Metrics)

// WithKinds bounds the resource_type and kind labels to kinds (the
// configured Cloud Control types); any other value is counted as Other.
func WithKinds(kinds ...string) Option { return func(m *Metrics) { m.kinds.allow(kinds) } }

// WithRegions bounds the region labels to regions (the configured regions,
// and the events queue's); any other value is counted as Other.
func WithRegions(regions ...string) Option { return func(m *Metrics) { m.regions.allow(regions) } }

// SetKinds is WithKinds after New, for a binary that registers its metrics
// before it has read its config (or reads it again). Series already
// recorded stay; later values outside kinds are counted as Other.
func (m *Metrics) SetKinds(kinds ...string) {
	if m != nil {
		m.kinds.allow(kinds)
	}
}

// SetRegions is WithRegions after New.
func (m *Metrics) SetRegions(regions ...string) {
	if m != nil {
		m.regions.allow(regions)
	}
}

// latencyBuckets cover a fast API call (a few ms) to a throttled one (tens of seconds).
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New creates the collectors and registers them with reg. It panics when a
// collector is already registered, as prometheus.MustRegister does: that is a
// programming error, not a runtime condition.
func New(reg prometheus.Registerer, opts ...Option) *Metrics {
	m := &Metrics{
		kinds:    newLabel(kindShape, DefaultMaxKinds),
		regions:  newLabel(regionShape, DefaultMaxRegions),
		accounts: newLabel(accountShape, DefaultMaxKinds),
		// The events' actions: upsert and delete, sync_shard for Lambda's
		// shard messages, "" for a message that did not parse.
		actions:       fixed("upsert", "delete", "sync_shard"),
		eventOutcomes: newLabel(codeShape, maxCodeValues),
		awsOutcomes:   newLabel(codeShape, maxCodeValues),
		operations:    newLabel(codeShape, maxCodeValues),
		routes:        newLabel(codeShape, maxCodeValues),
		statuses:      newLabel(codeShape, maxCodeValues),
		reasons:       newLabel(codeShape, maxCodeValues),
		scopes:        fixed(ScopeShard, ScopeEvent),
		causes:        fixed(Causes...),
	}
	m.failures = m.counterVec("failures_total",
		"Errors of reconciles, by scope (shard: a full sync's shard; event: a message's) and cause (throttled, access_denied, mapping, port_rejected, ...).",
		"scope", "cause")
	m.events = m.counterVec("events_total",
		"Event messages handled, by resource type, action and outcome (ok, transient, permanent, duplicate).",
		"resource_type", "action", "outcome")
	m.eventDuration = m.histogramVec("event_duration_seconds", "Time to reconcile one event message, by outcome.",
		latencyBuckets, "outcome")
	m.syncDuration = m.histogramVec("sync_duration_seconds", "Duration of a full sync of one shard (account, region, kind).",
		[]float64{.1, .5, 1, 5, 10, 30, 60, 120, 300, 600, 900}, "account", "region", "kind")
	m.syncLastSuccess = m.gaugeVec("sync_last_success_timestamp_seconds",
		"Unix time of the last shard sync that finished without error.", "account", "region", "kind")
	m.syncFailures = m.counterVec("sync_failures_total", "Shard syncs that finished with at least one error.",
		"account", "region", "kind")
	m.awsRequests = m.counterVec("aws_requests_total",
		"AWS API calls, by operation, region and outcome (ok or the error code).", "operation", "region", "outcome")
	m.awsLatency = m.histogramVec("aws_request_duration_seconds", "AWS API call latency, by operation and region.",
		latencyBuckets, "operation", "region")
	m.portRequests = m.counterVec("port_requests_total",
		"Port API requests, by route template and HTTP status (0 when no response arrived).", "route", "status")
	m.portLatency = m.histogramVec("port_request_duration_seconds", "Port API request latency, by route template.",
		latencyBuckets, "route")
	m.messageAge = m.histogramVec("queue_message_age_seconds", "Age of SQS messages when received (now minus SentTimestamp).",
		[]float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}).WithLabelValues()
	m.deadLetters = m.counterVec("dead_letter_messages_total", "Messages sent to the dead-letter queue, by reason.", "reason")
	m.inFlight = m.gaugeVec("queue_messages_in_flight", "SQS messages received and not yet deleted or released.").WithLabelValues()
	m.leaseHeld = m.gaugeVec("sync_lease_held",
		"1 while this replica holds the sync lease and runs the full sync, else 0 (serve with --sync-lease).").WithLabelValues()
	m.awsPace = m.gaugeVec("aws_requests_per_second_discovered",
		"Cloud Control calls per second the reader paces a region at: the rate found from AWS's answers (raised while calls succeed, cut on throttling), under --aws-requests-per-second.",
		"region")
	m.portPace = m.gaugeVec("port_requests_per_second_discovered",
		"Port requests per second the client paces at: the budget Port's rate-limit headers state (limit ÷ period), under --port-requests-per-second, lower while a window is nearly spent.").WithLabelValues()
	reg.MustRegister(m.collectors...)
	for _, o := range opts {
		o(m)
	}
	return m
}

// Family describes one metric the exporter registers: its full name, type
// (counter, gauge, histogram) and labels. docs/metrics.md, the Grafana
// dashboard and the Lambda's EMF records are checked against these.
type Family struct {
	Name   string
	Type   string
	Labels []string
	Help   string
}

// Families lists every metric New registers, in registration order.
func Families() []Family {
	return New(prometheus.NewRegistry()).families
}

func (m *Metrics) add(c prometheus.Collector, name, typ, help string, labels []string) {
	m.collectors = append(m.collectors, c)
	m.families = append(m.families, Family{Name: Namespace + "_" + name, Type: typ, Labels: labels, Help: help})
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	m.add(c, name, "counter", help, labels)
	return c
}

func (m *Metrics) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	c := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	m.add(c, name, "gauge", help, labels)
	return c
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	c := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	m.add(c, name, "histogram", help, labels)
	return c
}

// SyncLeaseHeld sets whether this replica holds the sync lease; its
// signature fits lease.Options.OnHeld.
func (m *Metrics) SyncLeaseHeld(held bool) {
	if m == nil {
		return
	}
	if held {
		m.leaseHeld.Set(1)
	} else {
		m.leaseHeld.Set(0)
	}
}

// AWSPace records the pace a region's Cloud Control reader found; its
// signature is the reader's OnRate hook.
func (m *Metrics) AWSPace(region string, perSecond float64) {
	if m == nil || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return // no pace (unpaced) has no figure; EMF cannot write an infinity
	}
	m.awsPace.WithLabelValues(m.regions.value(region)).Set(perSecond)
}

// PortPace records the Port client's pace; its signature is the client's
// OnPace hook.
func (m *Metrics) PortPace(perSecond float64) {
	if m == nil || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return
	}
	m.portPace.Set(perSecond)
}

// Scopes of Failure.
const (
	ScopeShard = "shard"
	ScopeEvent = "event"
)

// Causes are the values of the cause label (dispatch.Cause yields them).
var Causes = []string{"throttled", "unavailable", "timeout", "canceled", "access_denied", "not_found", "type_not_found",
	"unsupported", "validation", "mapping", "port_rejected", "port_unavailable", "other"}

// Failure counts one error of a reconcile by its cause, so that a run of
// AccessDenied (a permission to fix) is told apart from throttling (a
// budget to share) on a dashboard.
func (m *Metrics) Failure(scope, cause string) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(m.scopes.value(scope), m.causes.value(cause)).Inc()
}

// Event records one handled event message.
func (m *Metrics) Event(resourceType, action, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	outcome = m.eventOutcomes.value(outcome)
	m.events.WithLabelValues(m.kinds.value(resourceType), m.actions.value(action), outcome).Inc()
	m.eventDuration.WithLabelValues(outcome).Observe(took.Seconds())
}

// ShardSynced records one shard's full sync.
func (m *Metrics) ShardSynced(account, region, kind string, took time.Duration, ok bool) {
	if m == nil {
		return
	}
	account, region, kind = m.accounts.value(account), m.regions.value(region), m.kinds.value(kind)
	m.syncDuration.WithLabelValues(account, region, kind).Observe(took.Seconds())
	if ok {
		m.syncLastSuccess.WithLabelValues(account, region, kind).SetToCurrentTime()
	} else {
		m.syncFailures.WithLabelValues(account, region, kind).Inc()
	}
}

// AWSRequest records one AWS API call. outcome is "ok" or the AWS error code.
// Its signature fits a Cloud Control reader's Observe hook as a method value.
func (m *Metrics) AWSRequest(operation, region, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if outcome == "" {
		outcome = "ok"
	}
	operation, region, outcome = m.operations.value(operation), m.regions.value(region), m.awsOutcomes.value(outcome)
	m.awsRequests.WithLabelValues(operation, region, outcome).Inc()
	m.awsLatency.WithLabelValues(operation, region).Observe(took.Seconds())
}

// ObserveAWS records one AWS call attempt from its error: the outcome is
// "ok", the AWS error code (ThrottlingException, ...), "canceled" or "error".
// Its signature is the Cloud Control reader's Observe hook.
func (m *Metrics) ObserveAWS(operation, region string, err error, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	var apiErr smithy.APIError
	switch {
	case err == nil:
	case errors.As(err, &apiErr):
		outcome = apiErr.ErrorCode()
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		outcome = "canceled"
	default:
		outcome = "error"
	}
	m.AWSRequest(operation, region, outcome, took)
}

// PortRequest records one Port API request. route is the route template
// (e.g. "POST /v1/blueprints/{blueprint}/entities/bulk"), never the concrete
// path, so that entity identifiers do not become label values.
func (m *Metrics) PortRequest(route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	route = m.routes.value(route)
	m.portRequests.WithLabelValues(route, m.statuses.value(strconv.Itoa(status))).Inc()
	m.portLatency.WithLabelValues(route).Observe(took.Seconds())
}

// MessageReceived records the age of a received queue message.
func (m *Metrics) MessageReceived(age time.Duration) {
	if m == nil {
		return
	}
	m.messageAge.Observe(max(age, 0).Seconds())
}

// DeadLettered records a message sent to the dead-letter queue.
func (m *Metrics) DeadLettered(reason string) {
	if m == nil {
		return
	}
	m.deadLetters.WithLabelValues(m.reasons.value(reason)).Inc()
}

// InFlight adds delta to the number of messages held by this process.
func (m *Metrics) InFlight(delta int) {
	if m == nil {
		return
	}
	m.inFlight.Add(float64(delta))
}
