package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

type mappingCase struct {
	Name     string          `json:"name"`
	Source   string          `json:"source"`
	Config   json.RawMessage `json:"config"`
	Entry    int             `json:"entry"`
	Resource struct {
		AccountID  string          `json:"accountId"`
		Region     string          `json:"region"`
		Kind       string          `json:"kind"`
		Identifier string          `json:"identifier"`
		Properties json.RawMessage `json:"properties"`
	} `json:"resource"`
	Selected *bool           `json:"selected"`
	Entities json.RawMessage `json:"entities"`
	Errors   []string        `json:"errors"`
}

func TestCases(t *testing.T) { runCases(t, "testdata/cases.yaml", 1) }

// runCases runs the mapping cases of file, which must hold at least min.
func runCases(t *testing.T, file string, min int) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []mappingCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(cases) < min {
		t.Fatalf("%s has %d cases, want at least %d", file, len(cases), min)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			m := compileConfig(t, tc.Config)
			entries := m.Resources()
			if tc.Entry >= len(entries) {
				t.Fatalf("entry %d of %d", tc.Entry, len(entries))
			}
			res := source.Resource{
				AccountID: tc.Resource.AccountID, Region: tc.Resource.Region, Kind: tc.Resource.Kind,
				Identifier: tc.Resource.Identifier, Properties: decodeLikeSource(t, tc.Resource.Properties),
			}
			got, err := entries[tc.Entry].Map(t.Context(), res)
			if len(tc.Errors) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(tc.Errors) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tc.Errors)
				}
				for _, want := range tc.Errors {
					if !strings.Contains(err.Error(), want) {
						t.Fatalf("error:\n%v\ndoes not contain:\n%s", err, want)
					}
				}
				var mapErr *Error
				if !errors.As(err, &mapErr) || mapErr.Resource.Identifier != res.Identifier {
					t.Fatalf("error %v is not a *mapping.Error for the resource", err)
				}
			}
			if tc.Selected != nil && got.Selected != *tc.Selected {
				t.Fatalf("Selected = %v, want %v", got.Selected, *tc.Selected)
			}
			if g, w := canonical(t, got.Entities), canonical(t, tc.Entities); g != w {
				t.Fatalf("entities:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func compileConfig(t testing.TB, raw json.RawMessage) *Mapper {
	t.Helper()
	cfg, err := config.Parse(raw, config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(cfg, jq.WithTimeout(time.Second)) // the default: a loaded CI machine must not fail honest cases
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeLikeSource decodes a properties document into the shapes
// internal/source hands over: int, *big.Int or float64 for numbers.
func decodeLikeSource(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return fixNumbers(v).(map[string]any)
}

func fixNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i)
		}
		if b, ok := new(big.Int).SetString(string(v), 10); ok {
			return b
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = fixNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = fixNumbers(v[k])
		}
	}
	return v
}

// canonical re-encodes JSON-able values with sorted keys and exact numbers.
func canonical(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var back any
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back == nil {
		back = []any{}
	}
	out, _ := json.Marshal(back)
	return string(out)
}
