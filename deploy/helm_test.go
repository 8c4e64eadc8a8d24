package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/port-aws-exporter"

// helm finds the real helm binary (CI builds it: go install
// helm.sh/helm/v4/cmd/helm), or skips (fails in CI).
func helm(t *testing.T) string {
	t.Helper()
	return findTool(t, "helm", "HELM")
}

// renderChart runs `helm template` with the given values over the chart's
// defaults and returns the objects by "Kind/name", or helm's error.
func renderChart(t *testing.T, values map[string]any) (map[string]any, error) {
	t.Helper()
	raw, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(): its name holds the test's, and helm splits --values on commas.
	dir, err := os.MkdirTemp("", "helm-values")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	valuesFile := filepath.Join(dir, "values.json")
	if err := os.WriteFile(valuesFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm(t), "template", "exporter", chartDir, "--namespace", "port", "--values", valuesFile)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template: %v: %s", err, stderr.String())
	}
	objects := map[string]any{}
	for _, doc := range strings.Split(string(out), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("helm template renders invalid YAML: %v\n%s", err, doc)
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		key := fmt.Sprintf("%v/%v", obj["kind"], meta["name"])
		if _, dup := objects[key]; dup {
			t.Fatalf("two objects named %s", key)
		}
		objects[key] = obj
	}
	return objects, nil
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
	if len(cases) < 9 {
		t.Fatalf("%d cases in testdata/helm-cases.yaml, want at least 9", len(cases))
	}
	helm(t)
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

// TestHelmLint runs `helm lint --strict` on the chart with the required
// values, as one replica and as three with KEDA.
func TestHelmLint(t *testing.T) {
	base := []string{"lint", "--strict", chartDir, "--set", "port.existingSecret=port-credentials",
		"--set", "events.queueUrl=https://sqs.eu-west-1.amazonaws.com/123456789012/events"}
	for name, extra := range map[string][]string{
		"one replica": nil,
		"three replicas with KEDA": {"--set", "replicaCount=3", "--set", "keda.enabled=true", "--set", "aws.region=eu-west-1",
			"--set", "syncLease.url=s3://port-exporter-config/sync-lease.json"},
	} {
		out, err := exec.Command(helm(t), append(slices.Clone(base), extra...)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "0 chart(s) failed") {
			t.Errorf("helm lint (%s): %v\n%s", name, err, out)
		}
	}
	// And lint fails on a broken copy of the chart, so the check above can fail.
	broken := filepath.Join(t.TempDir(), "port-aws-exporter")
	if err := os.CopyFS(broken, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(broken, "templates", "service.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\n{{ .Values.service.port \n")
	f.Close()
	if out, err := exec.Command(helm(t), append([]string{"lint", "--strict", broken}, base[3:]...)...).CombinedOutput(); err == nil {
		t.Errorf("helm lint of a chart with a template syntax error passed:\n%s", out)
	}
}

// TestHelmChartHoldsNoSecret renders the chart with every option on and
// checks that no credential is a plain value: no Secret object, every
// environment variable named like a credential comes from a secretKeyRef,
// and values.yaml has no key for a credential itself.
func TestHelmChartHoldsNoSecret(t *testing.T) {
	objects, err := renderChart(t, map[string]any{
		"port":         map[string]any{"existingSecret": "port-credentials"},
		"events":       map[string]any{"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/events"},
		"aws":          map[string]any{"region": "eu-west-1"},
		"replicaCount": 3, "syncLease": map[string]any{"url": "s3://b/lease.json"}, "keda": map[string]any{"enabled": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	credential := regexp.MustCompile(`(?i)secret|password|token|credential`)
	envs := 0
	for key, obj := range objects {
		if strings.HasPrefix(key, "Secret/") {
			t.Errorf("the chart renders %s: credentials belong in an existing Secret", key)
		}
		q, _ := gojq.Parse(`.. | objects | select(has("env")) | .env[]`)
		iter := q.Run(obj)
		for v, ok := iter.Next(); ok; v, ok = iter.Next() {
			env, _ := v.(map[string]any)
			envs++
			if name, _ := env["name"].(string); credential.MatchString(name) {
				if _, plain := env["value"]; plain || env["valueFrom"] == nil {
					t.Errorf("%s: env %s is a plain value", key, name)
				}
			}
		}
	}
	if envs < 4 {
		t.Fatalf("found %d env entries in the rendering; the walk is broken", envs)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, child := range m {
				// Names of a Secret and of its keys are fine; the credentials are not.
				if credential.MatchString(k) && !strings.HasSuffix(k, "Key") && k != "existingSecret" && k != "imagePullSecrets" {
					t.Errorf("values.yaml has a credential key %s.%s", path, k)
				}
				walk(path+"."+k, child)
			}
		}
	}
	walk("", readYAMLFile(t, filepath.Join(chartDir, "values.yaml")))
}
