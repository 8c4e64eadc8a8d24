package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/itchyny/gojq"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/port-aws-exporter"

// Helm is not installed on the development machines and not packaged for
// them. The chart is therefore written with a small set of Helm's template
// functions, which helmFuncs provides with Helm's (sprig's) semantics, and
// rendered with text/template the way Helm does: every file of templates/ in
// one template set, "include" executing a named template.
func helmFuncs(tmpl **template.Template) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := (*tmpl).ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"required": func(msg string, v any) (any, error) {
			if v == nil || v == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"toYaml": func(v any) (string, error) {
			out, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(out), "\n"), err
		},
		"toJson": func(v any) (string, error) {
			out, err := json.Marshal(v)
			return string(out), err
		},
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":  indent,
		"quote":   func(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) },
		"default": func(d any, v ...any) any {
			if len(v) == 0 || empty(v[0]) {
				return d
			}
			return v[0]
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"contains":   func(substr, s string) bool { return strings.Contains(s, substr) },
		"sha256sum": func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		},
	}
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// empty is sprig's notion of an empty value, which "default" replaces.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case float64:
		return v == 0
	case int:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// mergeValues overlays user values on the chart's defaults, maps key by key.
func mergeValues(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func readYAMLFile(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// renderChart renders every manifest of the chart with the given values over
// the defaults, and returns the objects by "Kind/name", or the first error.
func renderChart(t *testing.T, values map[string]any) (map[string]any, error) {
	t.Helper()
	chart := readYAMLFile(t, filepath.Join(chartDir, "Chart.yaml"))
	data := map[string]any{
		"Values":  mergeValues(readYAMLFile(t, filepath.Join(chartDir, "values.yaml")), values),
		"Release": map[string]any{"Name": "exporter", "Namespace": "port", "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	var tmpl *template.Template
	tmpl = template.New(chartDir).Funcs(helmFuncs(&tmpl))
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Helm names templates by their path in the chart; missing keys are
		// empty, as with Helm's default (not strict) rendering.
		if _, err := tmpl.New(filepath.Base(f)).Option("missingkey=zero").Parse(string(raw)); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
	}
	objects := map[string]any{}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") {
			continue
		}
		var out bytes.Buffer
		if err := tmpl.ExecuteTemplate(&out, name, data); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		if name == "NOTES.txt" {
			continue
		}
		for _, doc := range strings.Split(out.String(), "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s renders invalid YAML: %v\n%s", name, err, doc)
			}
			if obj == nil {
				continue
			}
			meta, _ := obj["metadata"].(map[string]any)
			objects[fmt.Sprintf("%v/%v", obj["kind"], meta["name"])] = obj
		}
	}
	return objects, nil
}

// helmCase is one record of testdata/helm-cases.yaml.
type helmCase struct {
	Name      string         `json:"name"`
	Values    map[string]any `json:"values"`
	WantError string         `json:"wantError"`
	Checks    []struct {
		Query string `json:"query"`
		Want  any    `json:"want"`
	} `json:"checks"`
}

func TestHelmChartRenders(t *testing.T) {
	raw, err := os.ReadFile("testdata/helm-cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []helmCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			objects, err := renderChart(t, tc.Values)
			if tc.WantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.WantError) {
					t.Fatalf("render error = %v, want one mentioning %q", err, tc.WantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.Checks {
				q, err := gojq.Parse(c.Query)
				if err != nil {
					t.Fatalf("query %q: %v", c.Query, err)
				}
				got, ok := q.Run(objects).Next()
				if !ok {
					t.Errorf("query %q produced nothing", c.Query)
					continue
				}
				if err, isErr := got.(error); isErr {
					t.Errorf("query %q: %v", c.Query, err)
					continue
				}
				if !jsonEqual(t, got, c.Want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(c.Want)
					t.Errorf("query %q\n got: %s\nwant: %s", c.Query, g, w)
				}
			}
		})
	}
}

// TestHelmChartUsesTheImagePort keeps the chart's port equal to the one the
// image exposes and serve listens on.
func TestHelmChartUsesTheImagePort(t *testing.T) {
	values := readYAMLFile(t, filepath.Join(chartDir, "values.yaml"))
	if got := fmt.Sprint(values["metricsPort"]); got != metricsPort {
		t.Errorf("values.yaml metricsPort = %s, the image exposes %s", got, metricsPort)
	}
}
