package describetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// Boto3Python finds a Python with boto3 and PyYAML (moto_server's own,
// which depends on boto3), or skips the test; with REQUIRE_TEST_PEERS=1 or
// CI=true a missing one fails it.
func Boto3Python(t testing.TB) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("PORT_AWS_EXPORTER_BOTO3_PYTHON"); p != "" {
		candidates = append(candidates, p)
	}
	if m := os.Getenv(moto.EnvBinary); m != "" {
		candidates = append(candidates, filepath.Join(filepath.Dir(m), "python3"))
	}
	if m, err := exec.LookPath("moto_server"); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(m), "python3"), filepath.Join(filepath.Dir(m), "python"))
	}
	candidates = append(candidates, "/root/.pyenv/versions/3.11.7/bin/python", "python3")
	for _, c := range candidates {
		if exec.Command(c, "-c", "import boto3, yaml").Run() == nil {
			return c
		}
	}
	msg := fmt.Sprintf("no Python with boto3 and PyYAML (tried %v; set PORT_AWS_EXPORTER_BOTO3_PYTHON)", candidates)
	if os.Getenv("CI") == "true" || os.Getenv("REQUIRE_TEST_PEERS") == "1" {
		t.Fatal(msg + " (required because CI=true or REQUIRE_TEST_PEERS=1)")
	}
	t.Skip(msg)
	return ""
}

// Boto3Documents runs boto3_documents.py against endpoint: the documents
// Port's original exporter built with boto3, by kind and identifier, with
// numbers as int or float64 (as source.Resource holds them).
func Boto3Documents(t testing.TB, python, endpoint, region string) map[string]map[string]map[string]any {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	var stderr bytes.Buffer
	cmd := exec.Command(python, filepath.Join(filepath.Dir(here), "boto3_documents.py"), endpoint, region)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3_documents.py: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var docs map[string]map[string]map[string]any
	if err := dec.Decode(&docs); err != nil {
		t.Fatalf("boto3_documents.py printed no JSON: %v", err)
	}
	for _, byID := range docs {
		for id, d := range byID {
			byID[id] = numbers(d).(map[string]any)
		}
	}
	return docs
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// pythonTimestamp is str(datetime) of an aware datetime, as json.dumps(default=str) wrote it.
var pythonTimestamp = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2})$`)

// WithISOTimestamps applies to a boto3 document the one deliberate
// difference of the describe reader's documents: timestamps are written
// with isoformat() (RFC 3339, "T" between date and time), not str().
func WithISOTimestamps(v any) any {
	switch x := v.(type) {
	case string:
		if m := pythonTimestamp.FindStringSubmatch(x); m != nil {
			return m[1] + "T" + m[2]
		}
	case map[string]any:
		for k, e := range x {
			x[k] = WithISOTimestamps(e)
		}
	case []any:
		for i, e := range x {
			x[i] = WithISOTimestamps(e)
		}
	}
	return v
}
