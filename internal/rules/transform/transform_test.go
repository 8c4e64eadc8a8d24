package transform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

type metaCase struct {
	RuleName      string `json:"rulename"`
	RuleARN       string `json:"rulearn"`
	IngestionTime string `json:"ingestiontime"`
}

type transformCase struct {
	Name      string            `json:"name"`
	Paths     map[string]string `json:"paths"`
	Template  string            `json:"template"`
	Event     string            `json:"event"`
	Meta      metaCase          `json:"meta"`
	Output    *string           `json:"output"`
	Missing   []string          `json:"missing"`
	Unescaped []string          `json:"unescaped"`
	Error     string            `json:"error"`
	Error2    string            `json:"error2"`
}

func loadCases(t testing.TB) []transformCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []transformCase
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("cases.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("cases.yaml holds no cases")
	}
	return cases
}

func (m metaCase) meta(t *testing.T) Meta {
	out := Meta{RuleName: m.RuleName, RuleARN: m.RuleARN}
	if m.IngestionTime != "" {
		at, err := time.Parse(time.RFC3339, m.IngestionTime)
		if err != nil {
			t.Fatal(err)
		}
		out.IngestionTime = at
	}
	return out
}

func TestTable(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			if (tc.Output == nil) == (tc.Error == "") {
				t.Fatal("a case needs exactly one of output and error")
			}
			tr, err := Compile(tc.Paths, tc.Template)
			var r Rendered
			if err == nil {
				r, err = tr.Render([]byte(tc.Event), tc.Meta.meta(t))
			}
			if tc.Error != "" {
				if err == nil {
					t.Fatalf("got output %s, want error containing %q", r.Output, tc.Error)
				}
				for _, want := range []string{tc.Error, tc.Error2} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Output) != *tc.Output {
				t.Errorf("output\n got: %s\nwant: %s", r.Output, *tc.Output)
			}
			if !reflect.DeepEqual(r.Missing, tc.Missing) {
				t.Errorf("missing = %q, want %q", r.Missing, tc.Missing)
			}
			if !reflect.DeepEqual(r.Unescaped, tc.Unescaped) {
				t.Errorf("unescaped = %q, want %q", r.Unescaped, tc.Unescaped)
			}
		})
	}
}

func TestOutputErrorFields(t *testing.T) {
	tr, err := Compile(map[string]string{"n": "$.n"}, `{"n": "<n>"}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Render([]byte(`{"n": "a\"b"}`), Meta{RuleName: "my-rule"})
	var oe *OutputError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *OutputError", err)
	}
	if oe.Rule != "my-rule" || oe.Line != 1 || string(oe.Output) != `{"n": "a"b"}` || !reflect.DeepEqual(oe.Suspects, []string{"n"}) {
		t.Errorf("OutputError = %+v", oe)
	}
}

func TestLimits(t *testing.T) {
	paths := map[string]string{}
	for i := 0; i <= MaxInputPaths; i++ {
		paths[fmt.Sprintf("p%d", i)] = "$.a"
	}
	if _, err := Compile(paths, `"x"`); err == nil || !strings.Contains(err.Error(), "101 entries, at most 100") {
		t.Errorf("101 paths: err = %v", err)
	}
	delete(paths, "p0")
	if _, err := Compile(paths, `"x"`); err != nil {
		t.Errorf("100 paths: %v", err)
	}
	long := `"` + strings.Repeat("é", MaxTemplateLength-2) + `"`
	if _, err := Compile(nil, long); err != nil {
		t.Errorf("template of %d characters: %v", MaxTemplateLength, err)
	}
	if _, err := Compile(nil, long+" "); err == nil || !strings.Contains(err.Error(), "8193 characters") {
		t.Errorf("template of %d characters: err = %v", MaxTemplateLength+1, err)
	}
}

func TestIngestionTimeDefaultsToNow(t *testing.T) {
	tr, err := Compile(nil, `{"at": <aws.events.event.ingestion-time>}`)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC().Truncate(time.Second)
	out, err := tr.Apply([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if _, err := fmt.Sscanf(string(out), `{"at":%q}`, new(string)); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(string(out), `{"at":"`), `"}`)
	if at, err = time.Parse(time.RFC3339, s); err != nil {
		t.Fatal(err)
	}
	if at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("ingestion time %v is not now", at)
	}
}

func TestRejectsInvalidEvent(t *testing.T) {
	tr, err := Compile(map[string]string{"a": "$.a"}, `{"a": <a>}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Render([]byte(`{"a":`), Meta{RuleName: "r"}); err == nil || !strings.Contains(err.Error(), `rule "r": event is not valid JSON`) {
		t.Errorf("err = %v", err)
	}
}
