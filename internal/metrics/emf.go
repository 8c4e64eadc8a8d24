package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// DefaultEMFNamespace is the CloudWatch namespace of the Lambda's metrics.
const DefaultEMFNamespace = "PortAWSExporter"

// EMFNone stands for an empty label value in EMF records: CloudWatch refuses
// empty dimension values.
const EMFNone = "none"

// emfRollups are the extra dimension sets of a family's EMF records, so
// that an alarm can watch a total (CloudWatch metrics are identified by
// their whole dimension set, and alarms cannot sum over one).
var emfRollups = map[string][][]string{
	Namespace + "_events_total":               {{"outcome"}},
	Namespace + "_failures_total":             {{"cause"}},
	Namespace + "_dead_letter_messages_total": {{}},
	Namespace + "_sync_failures_total":        {{}},
	Namespace + "_sync_duration_seconds":      {{}},
	Namespace + "_event_duration_seconds":     {{}},
}

// EMFDimensionSets are the dimension sets the EMF records of family f
// declare: all its labels (sorted), then its rollups. A CloudWatch alarm or
// dashboard can only read a metric by one of these sets.
func EMFDimensionSets(f Family) [][]string {
	all := slices.Sorted(slices.Values(f.Labels))
	if all == nil {
		all = []string{}
	}
	return append([][]string{all}, emfRollups[f.Name]...)
}

// EMF writes the exporter's metrics as CloudWatch Embedded Metric Format
// records, the Lambda's counterpart of serve's /metrics: each Flush writes,
// for every label set whose series moved since the last Flush, one JSON line
// whose dimensions are the Prometheus labels (bounded the same way) and whose
// values are
//
//   - counters: the increase since the last Flush (Unit Count);
//   - histograms: <name>_count (Count) and <name>_sum (Seconds), the
//     increases of the histogram's count and sum;
//   - gauges: the value, when it changed (Unit None).
//
// A nil *EMF does nothing.
type EMF struct {
	Gatherer prometheus.Gatherer
	// Namespace is the CloudWatch namespace (default DefaultEMFNamespace).
	Namespace string
	// Out receives the records (default os.Stdout: Lambda's log).
	Out io.Writer
	// Now stamps the records (default time.Now).
	Now func() time.Time

	mu   sync.Mutex
	last map[string]float64
}

// EMFRecord is one EMF log line, as CloudWatch reads it.
type EMFRecord struct {
	AWS struct {
		Timestamp         int64          `json:"Timestamp"`
		CloudWatchMetrics []EMFDirective `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	// Fields holds the dimension values and the metric values.
	Fields map[string]any `json:"-"`
}

// EMFDirective says which fields are metrics and which dimensions they have.
type EMFDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []EMFMetric `json:"Metrics"`
}

// EMFMetric names one metric of a directive.
type EMFMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// MarshalJSON writes the fields at the top level beside _aws.
func (r EMFRecord) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(r.Fields)+1)
	for k, v := range r.Fields {
		out[k] = v
	}
	out["_aws"] = r.AWS
	return json.Marshal(out)
}

// UnmarshalJSON reads a record back (tests, tools).
func (r *EMFRecord) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	aws, ok := all["_aws"]
	if !ok {
		return fmt.Errorf("not an EMF record: no _aws")
	}
	if err := json.Unmarshal(aws, &r.AWS); err != nil {
		return err
	}
	delete(all, "_aws")
	r.Fields = map[string]any{}
	for k, v := range all {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		r.Fields[k] = x
	}
	return nil
}

type emfGroup struct {
	labels  map[string]string
	rollups [][]string
	metrics []EMFMetric
	values  map[string]float64
}

// Flush writes the records of what changed since the last Flush.
func (e *EMF) Flush() error {
	if e == nil || e.Gatherer == nil {
		return nil
	}
	families, err := e.Gatherer.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics for EMF: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil {
		e.last = map[string]float64{}
	}
	groups := map[string]*emfGroup{}
	var order []string
	add := func(family string, labels map[string]string, name, unit string, v float64) {
		rollups := emfRollups[family]
		key := labelKey(labels) + "|" + fmt.Sprint(rollups)
		g, ok := groups[key]
		if !ok {
			g = &emfGroup{labels: labels, rollups: rollups, values: map[string]float64{}}
			groups[key] = g
			order = append(order, key)
		}
		g.metrics = append(g.metrics, EMFMetric{Name: name, Unit: unit})
		g.values[name] = v
	}
	// delta records v for series key and returns its increase (a counter
	// that went down restarted: its whole value is the increase).
	delta := func(key string, v float64) float64 {
		prev, seen := e.last[key]
		e.last[key] = v
		if !seen || v < prev {
			return v
		}
		return v - prev
	}
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, Namespace+"_") {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if v == "" {
					v = EMFNone
				}
				labels[l.GetName()] = v
			}
			key := name + "{" + labelKey(labels) + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				if d := delta(key, m.GetCounter().GetValue()); d > 0 {
					add(name, labels, name, "Count", d)
				}
			case dto.MetricType_GAUGE:
				v := m.GetGauge().GetValue()
				prev, seen := e.last[key]
				e.last[key] = v
				if (seen && v != prev) || (!seen && v != 0) {
					add(name, labels, name, "None", v)
				}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				count := delta(key+"count", float64(h.GetSampleCount()))
				sum := delta(key+"sum", h.GetSampleSum())
				if count > 0 {
					add(name, labels, name+"_count", "Count", count)
					add(name, labels, name+"_sum", "Seconds", sum)
				}
			}
		}
	}
	ns := e.Namespace
	if ns == "" {
		ns = DefaultEMFNamespace
	}
	out := e.Out
	if out == nil {
		out = os.Stdout
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	stamp := now().UnixMilli()
	var buf []byte
	for _, key := range order {
		g := groups[key]
		names := make([]string, 0, len(g.labels))
		for k := range g.labels {
			names = append(names, k)
		}
		slices.Sort(names)
		dims := append([][]string{names}, g.rollups...)
		var rec EMFRecord
		rec.AWS.Timestamp = stamp
		rec.AWS.CloudWatchMetrics = []EMFDirective{{Namespace: ns, Dimensions: dims, Metrics: g.metrics}}
		rec.Fields = map[string]any{}
		for k, v := range g.labels {
			rec.Fields[k] = v
		}
		for k, v := range g.values {
			rec.Fields[k] = v
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	// One write: the lines of a flush are not interleaved with log lines.
	_, err = out.Write(buf)
	return err
}

func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String()
}
