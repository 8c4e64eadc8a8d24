package pattern

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type matchCase struct {
	Name        string `json:"name"`
	Pattern     string `json:"pattern"`
	Event       string `json:"event"`
	Match       bool   `json:"match"`
	MotoDiffers string `json:"moto_differs"`
}

type errorCase struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	Error   string `json:"error"`
}

func loadYAML[T any](t testing.TB, name string) []T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []T
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s holds no cases", name)
	}
	return cases
}

func TestMatchTable(t *testing.T) {
	for _, tc := range loadYAML[matchCase](t, "match.yaml") {
		t.Run(tc.Name, func(t *testing.T) {
			p, err := Compile([]byte(tc.Pattern))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := p.MatchJSON([]byte(tc.Event))
			if err != nil {
				t.Fatalf("match: %v", err)
			}
			if got != tc.Match {
				t.Errorf("Match = %v, want %v\npattern: %s\nevent:   %s", got, tc.Match, tc.Pattern, tc.Event)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range loadYAML[errorCase](t, "errors.yaml") {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := Compile([]byte(tc.Pattern))
			if tc.Error == "" {
				if err != nil {
					t.Fatalf("Compile(%s) = %v, want success", tc.Pattern, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Compile(%s) succeeded, want error containing %q", tc.Pattern, tc.Error)
			}
			if !strings.Contains(err.Error(), tc.Error) {
				t.Errorf("Compile(%s) error = %q, want it to contain %q", tc.Pattern, err, tc.Error)
			}
		})
	}
}

// TestDecodedInputs checks that decoded values (as from encoding/json or a
// YAML decoder) behave as their JSON text does.
func TestDecodedInputs(t *testing.T) {
	p, err := Compile(map[string]any{
		"detail": map[string]any{
			"n":     []any{300},
			"state": []any{map[string]any{"prefix": "run"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Match(map[string]any{"detail": map[string]any{"n": float64(300), "state": "running"}}) {
		t.Error("decoded event with float64 300 did not match [300]")
	}
	if p.Match(map[string]any{"detail": map[string]any{"n": 300.5, "state": "running"}}) {
		t.Error("decoded event with 300.5 matched [300]")
	}
	if p.Match([]byte(`{"detail": {"n": 300, "state": "stopped"}}`)) {
		t.Error("stopped matched prefix run")
	}
}

func TestMatchJSONRejectsBadEvents(t *testing.T) {
	p := MustCompile(`{"source": ["a"]}`)
	for _, ev := range []string{`[]`, `"a"`, `{"source": "a"`, `{"source": "a"} {}`} {
		ok, err := p.MatchJSON([]byte(ev))
		if err == nil || ok {
			t.Errorf("MatchJSON(%s) = %v, %v; want false and an error", ev, ok, err)
		}
	}
	if _, err := p.MatchJSON(42); err == nil {
		t.Error("MatchJSON(42) gave no error")
	}
}
