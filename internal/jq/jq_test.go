package jq

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

type testCase struct {
	Name    string          `json:"name"`
	Expr    string          `json:"expr"`
	Input   json.RawMessage `json:"input"`
	Outputs json.RawMessage `json:"outputs"`
	Error   string          `json:"error"`
}

func loadCases(t *testing.T) []testCase {
	t.Helper()
	data, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// YAMLToJSON keeps large integers as written, so inputs decoded with
	// UseNumber below reach gojq with full precision.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("testdata/cases.yaml: %v", err)
	}
	var cases []testCase
	if err := json.Unmarshal(js, &cases); err != nil {
		t.Fatalf("testdata/cases.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/cases.yaml has no cases")
	}
	return cases
}

// canonical re-encodes a value as JSON so that json.Number, int, float64 and
// *big.Int holding the same number compare equal.
func canonical(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var back any
	if err := decodeJSON(data, &back); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(back)
	return string(out)
}

func TestCases(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			var input any
			if len(tc.Input) > 0 {
				if err := decodeJSON(tc.Input, &input); err != nil {
					t.Fatalf("input: %v", err)
				}
			}
			q, err := Compile(tc.Expr)
			var got []any
			if err == nil {
				got, err = q.Run(t.Context(), input)
			}
			if tc.Error != "" {
				if err == nil {
					t.Fatalf("got outputs %v, want error containing %q", got, tc.Error)
				}
				if !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("error %q does not contain %q", err, tc.Error)
				}
				var jqErr *Error
				if !errors.As(err, &jqErr) || jqErr.Expr != tc.Expr {
					t.Fatalf("error %v does not carry the expression %q", err, tc.Expr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got == nil {
				got = []any{}
			}
			if g, w := canonical(t, got), string(mustCompact(t, tc.Outputs)); g != w {
				t.Fatalf("outputs = %s, want %s", g, w)
			}
		})
	}
}

func mustCompact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// TestRunawayExpressionsStop proves each kind of endless evaluation ends with
// the timeout error, well before the test's own deadline: gojq checks the
// context between VM instructions, so what matters is that none of these
// spends its time inside one long builtin.
func TestRunawayExpressionsStop(t *testing.T) {
	runaway := []string{
		"range(1e12)",
		"[range(1e12)]",
		"last(range(1e12))",
		"def f: f; f",
		"def f: 1 + f; f",
		"def f: [f]; f",
		"repeat(.)",
		"[repeat(1)] | length",
		"until(false; .)",
		"reduce range(1e12) as $i (0; . + $i)",
		"[limit(1e12; repeat(1))] | length",
		"label $out | foreach range(1e12) as $i (0; .; empty)",
		"[.[]?] | while(true; .)",
	}
	const timeout = 200 * time.Millisecond
	for _, expr := range runaway {
		t.Run(expr, func(t *testing.T) {
			q, err := Compile(expr, WithTimeout(timeout), WithMaxOutputs(1<<62))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = q.Run(t.Context(), 0)
			elapsed := time.Since(start)
			if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrTimeout or ErrLimit", err)
			}
			if !strings.Contains(err.Error(), expr) && len(expr) <= maxQuotedExpr {
				t.Fatalf("error %q does not name the expression", err)
			}
			// A generous bound: the point is that it stops, not how fast
			// (the suite runs beside other packages' tests on shared CPUs).
			if elapsed > timeout+3*time.Second {
				t.Fatalf("stopped only after %s with a %s deadline", elapsed, timeout)
			}
		})
	}
}

func TestOutputCap(t *testing.T) {
	q, err := Compile("range(1e12)", WithMaxOutputs(5))
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Run(t.Context(), nil)
	if !errors.Is(err, ErrTooManyOutputs) {
		t.Fatalf("err = %v, want ErrTooManyOutputs", err)
	}
	out, err := mustCompile(t, "range(5)", WithMaxOutputs(5)).Run(t.Context(), nil)
	if err != nil || len(out) != 5 {
		t.Fatalf("range(5) with cap 5: %v, %v", out, err)
	}
}

func TestFirstStopsAtTheFirstValue(t *testing.T) {
	// Were First to run the whole stream, this would time out.
	v, ok, err := mustCompile(t, "range(1e12)", WithTimeout(100*time.Millisecond)).First(t.Context(), nil)
	if err != nil || !ok || v != 0 {
		t.Fatalf("First(range(1e12)) = %v, %v, %v; want 0, true, nil", v, ok, err)
	}
	v, ok, err = mustCompile(t, "empty").First(t.Context(), nil)
	if err != nil || ok || v != nil {
		t.Fatalf("First(empty) = %v, %v, %v; want nil, false, nil", v, ok, err)
	}
	_, _, err = mustCompile(t, `error("x")`).First(t.Context(), nil)
	if err == nil {
		t.Fatal("First(error) returned no error")
	}
}

func TestCallerCancellationIsNotReportedAsTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := mustCompile(t, "range(1e12)").Run(ctx, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want context.Canceled and not ErrTimeout", err)
	}
}

// TestEnvironmentNeverLeaks sets a secret-looking variable in the real process
// environment and tries every route jq has to it.
func TestEnvironmentNeverLeaks(t *testing.T) {
	const secret = "s3cr3t-value-from-the-environment"
	t.Setenv("PORT_CLIENT_SECRET", secret)
	routes := []string{
		"env", "$ENV", "env.PORT_CLIENT_SECRET", "$ENV.PORT_CLIENT_SECRET", "{$ENV}",
		`"\(env)"`, "[env]", "$__loc__", "builtins", "getpath([\"PORT_CLIENT_SECRET\"])",
		`$ENV | tojson`, `def e: env; e`, `env as $e | $e`,
	}
	for _, expr := range routes {
		q, err := Compile(expr)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("%s: compile error leaks the secret: %v", expr, err)
			}
			continue
		}
		out, err := q.Run(t.Context(), map[string]any{})
		data, _ := json.Marshal(out)
		if strings.Contains(string(data), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Fatalf("%s leaks the environment: %s %v", expr, data, err)
		}
	}
}

func TestDebugAndStderrHaveNoSideEffects(t *testing.T) {
	for _, expr := range []string{"debug", `debug("x")`, "stderr", "input_line_number"} {
		q, err := Compile(expr)
		if err != nil {
			continue // not defined in gojq's library: nothing can be written
		}
		t.Errorf("%s compiled; gojq's library was expected to leave it undefined (%v)", expr, q)
	}
}

func TestConcurrentRuns(t *testing.T) {
	q := mustCompile(t, `.Name + "-" + (.N | tostring)`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			in := map[string]any{"Name": "fn", "N": i}
			v, ok, err := q.First(t.Context(), in)
			if err != nil || !ok || v != "fn-"+itoa(i) {
				errs <- errors.New("wrong result")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func mustCompile(t testing.TB, expr string, opts ...Option) *Query {
	t.Helper()
	q, err := Compile(expr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestLongExpressionIsShortenedInErrors(t *testing.T) {
	expr := ".a + " + strings.Repeat(`"x" + `, 100) + "1"
	_, err := mustCompile(t, expr).Run(t.Context(), map[string]any{"a": 1})
	if err == nil {
		t.Fatal("no error")
	}
	if len(err.Error()) > 400 || !strings.Contains(err.Error(), "…") {
		t.Fatalf("error not shortened: %d bytes: %v", len(err.Error()), err)
	}
}
