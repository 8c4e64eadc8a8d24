package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

var metricName = regexp.MustCompile(`port_aws_exporter_[a-z_]+`)

// familyOf resolves a series name to its family: the name itself, or for a
// histogram its _bucket, _sum and _count series (suffixes lists the allowed ones).
func familyOf(name string, suffixes ...string) (metrics.Family, bool) {
	for _, f := range metrics.Families() {
		if f.Name == name && f.Type != "histogram" {
			return f, true
		}
		if f.Type == "histogram" {
			for _, s := range suffixes {
				if name == f.Name+s {
					return f, true
				}
			}
		}
	}
	return metrics.Family{}, false
}

// TestGrafanaDashboardQueriesRegisteredMetrics reads every PromQL expression
// of deploy/grafana/port-aws-exporter.json: each metric it names must be
// registered, each label it groups by must be one of the metric's (or a
// target label), and every registered metric must be on the dashboard.
func TestGrafanaDashboardQueriesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("grafana/port-aws-exporter.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	byClause := regexp.MustCompile(`by \(([^)]*)\)`)
	targetLabels := []string{"job", "instance", "pod", "le"}
	shown := map[string]bool{}
	exprs := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs++
			var fams []metrics.Family
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				f, ok := familyOf(name, "_bucket", "_sum", "_count")
				if !ok {
					t.Errorf("panel %q queries %s, which internal/metrics does not register", p.Title, name)
					continue
				}
				shown[f.Name] = true
				fams = append(fams, f)
			}
			if len(fams) == 0 {
				t.Errorf("panel %q: expression %q names no exporter metric", p.Title, target.Expr)
			}
			for _, m := range byClause.FindAllStringSubmatch(target.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					l = strings.TrimSpace(l)
					for _, f := range fams {
						if !slices.Contains(f.Labels, l) && !slices.Contains(targetLabels, l) {
							t.Errorf("panel %q groups %s by %q, which it does not have (labels %v)", p.Title, f.Name, l, f.Labels)
						}
					}
				}
			}
		}
	}
	if exprs < 10 {
		t.Fatalf("%d expressions on the dashboard: the file was not read right", exprs)
	}
	for _, f := range metrics.Families() {
		if !shown[f.Name] {
			t.Errorf("%s is registered but on no panel of the Grafana dashboard", f.Name)
		}
	}
}

// TestCloudWatchReadsEMFMetrics checks what the stack's alarms and dashboard
// read from the namespace PortAWSExporter: the EMF names (histograms as
// _sum/_count) with one of the dimension sets the records declare. The
// Terraform module must read the same metrics.
func TestCloudWatchReadsEMFMetrics(t *testing.T) {
	stack := readTemplate(t, stackTemplatePath)
	resources := stack["Resources"].(map[string]any)
	type read struct {
		name string
		dims []string
		from string
	}
	var reads []read
	for id, r := range resources {
		r := r.(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		if r["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		dimsOf := func(v any) []string {
			var out []string
			list, _ := v.([]any)
			for _, d := range list {
				out = append(out, d.(map[string]any)["Name"].(string))
			}
			return out
		}
		if props["Namespace"] == metrics.DefaultEMFNamespace {
			reads = append(reads, read{props["MetricName"].(string), dimsOf(props["Dimensions"]), id})
		}
		qs, _ := props["Metrics"].([]any)
		for _, q := range qs {
			ms, ok := q.(map[string]any)["MetricStat"].(map[string]any)
			if !ok {
				continue
			}
			m := ms["Metric"].(map[string]any)
			if m["Namespace"] == metrics.DefaultEMFNamespace {
				reads = append(reads, read{m["MetricName"].(string), dimsOf(m["Dimensions"]), id})
			}
		}
	}
	// The dashboard body: metric rows with CloudWatch's "." and "..." shorthands.
	body := resources["Dashboard"].(map[string]any)["Properties"].(map[string]any)["DashboardBody"].(map[string]any)["Fn::Sub"].([]any)[0].(string)
	var dash struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	for _, w := range dash.Widgets {
		var prev []string
		for _, row := range w.Properties.Metrics {
			var vals []string
			for _, v := range row {
				if s, ok := v.(string); ok {
					vals = append(vals, s)
				}
			}
			switch {
			case len(vals) > 0 && vals[0] == "...":
				vals = append(slices.Clone(prev[:len(prev)-(len(vals)-1)]), vals[1:]...)
			default:
				for i, v := range vals {
					if v == "." && i < len(prev) {
						vals[i] = prev[i]
					}
				}
			}
			prev = vals
			if vals[0] != metrics.DefaultEMFNamespace {
				continue
			}
			var dims []string
			for i := 2; i+1 < len(vals); i += 2 {
				dims = append(dims, vals[i])
			}
			reads = append(reads, read{vals[1], dims, "Dashboard"})
		}
	}
	if len(reads) < 8 {
		t.Fatalf("found %d reads of EMF metrics in the stack, want at least 8", len(reads))
	}
	stackNames := map[string]bool{}
	for _, r := range reads {
		stackNames[r.name] = true
		f, ok := familyOf(r.name, "_sum", "_count")
		if !ok {
			t.Errorf("%s reads %s, which the EMF records do not hold", r.from, r.name)
			continue
		}
		slices.Sort(r.dims)
		if r.dims == nil {
			r.dims = []string{}
		}
		if !slices.ContainsFunc(metrics.EMFDimensionSets(f), func(set []string) bool { return slices.Equal(set, r.dims) }) {
			t.Errorf("%s reads %s by dimensions %v; the records declare %v", r.from, r.name, r.dims, metrics.EMFDimensionSets(f))
		}
	}
	tf, err := os.ReadFile(terraformModuleDir + "/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	tfNames := map[string]bool{}
	for _, n := range metricName.FindAllString(string(tf), -1) {
		tfNames[n] = true
	}
	if !mapsEqual(stackNames, tfNames) {
		t.Errorf("the stack reads %v, the Terraform module %v", stackNames, tfNames)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
