package metrics_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// TestMetricsDocTable keeps docs/metrics.md's table equal to the registered
// metrics: every family documented once with its type, labels and EMF
// rollups, and nothing documented that is not registered.
func TestMetricsDocTable(t *testing.T) {
	raw, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ typ, labels, rollups string }
	documented := map[string]row{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `port_aws_exporter_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 5 {
			t.Fatalf("table row with %d cells, want 5: %s", len(cells), line)
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if _, dup := documented[name]; dup {
			t.Errorf("%s documented twice", name)
		}
		documented[name] = row{strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2]), strings.TrimSpace(cells[4])}
	}
	families := metrics.Families()
	if len(families) < 14 {
		t.Fatalf("%d families registered, want at least 14", len(families))
	}
	for _, f := range families {
		d, ok := documented[f.Name]
		if !ok {
			t.Errorf("%s is registered but not in docs/metrics.md", f.Name)
			continue
		}
		delete(documented, f.Name)
		labels := "–"
		if len(f.Labels) > 0 {
			labels = "`" + strings.Join(f.Labels, "`, `") + "`"
		}
		var rollups []string
		for _, set := range metrics.EMFDimensionSets(f)[1:] {
			rollups = append(rollups, "["+strings.Join(set, ", ")+"]")
		}
		want := row{f.Type, labels, strings.Join(rollups, " ")}
		if d != want {
			t.Errorf("%s: docs say %+v, registered %+v", f.Name, d, want)
		}
	}
	for name := range documented {
		t.Errorf("docs/metrics.md documents %s, which is not registered", name)
	}
}

// TestFamiliesAreWhatIsExposed checks Families against a real scrape of a
// registry where every method recorded once.
func TestFamiliesAreWhatIsExposed(t *testing.T) {
	reg := newRecordedRegistry()
	exposed := scrapeNames(t, reg)
	var names []string
	for _, f := range metrics.Families() {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, exposed) {
		t.Errorf("Families %v\nexposed  %v", names, exposed)
	}
}

// newRecordedRegistry records once through every method of Metrics.
func newRecordedRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Event("AWS::Lambda::Function", "upsert", metrics.OutcomeOK, time.Millisecond)
	m.Failure(metrics.ScopeEvent, "throttled")
	m.ShardSynced("123456789012", "eu-west-1", "AWS::Lambda::Function", time.Second, true)
	m.ShardSynced("123456789012", "eu-west-1", "AWS::Lambda::Function", time.Second, false)
	m.AWSRequest("GetResource", "eu-west-1", "", time.Millisecond)
	m.PortRequest("GET /v1/blueprints", 200, time.Millisecond)
	m.MessageReceived(time.Second)
	m.DeadLettered("malformed_json")
	m.InFlight(1)
	m.SyncLeaseHeld(true)
	m.AWSPace("eu-west-1", 412.5)
	m.PortPace(116.67)
	return reg
}

func scrapeNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	var names []string
	for name := range scrape(t, reg) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
