package jq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/itchyny/gojq"
	"sigs.k8s.io/yaml"
)

type semanticsCase struct {
	Expr    string          `json:"expr"`
	Input   json.RawMessage `json:"input"` // JSON text; null when absent
	Outputs json.RawMessage `json:"outputs"`
	Error   string          `json:"error"`
}

// TestGuardsKeepSemantics runs testdata/semantics.yaml through the guarded
// evaluator and through plain gojq: same outputs in the same order, same
// errors, and the expected ones where the case says.
func TestGuardsKeepSemantics(t *testing.T) {
	data, err := os.ReadFile("testdata/semantics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("testdata/semantics.yaml: %v", err)
	}
	var cases []semanticsCase
	if err := json.Unmarshal(js, &cases); err != nil {
		t.Fatalf("testdata/semantics.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/semantics.yaml has no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Expr, func(t *testing.T) {
			var input any
			if len(tc.Input) > 0 {
				var text string
				if err := json.Unmarshal(tc.Input, &text); err != nil {
					t.Fatalf("input must be JSON text in a string: %v", err)
				}
				if err := decodeJSON([]byte(text), &input); err != nil {
					t.Fatalf("input: %v", err)
				}
			}
			guarded, guardedErr := runGuarded(t.Context(), tc.Expr, input)
			plain, plainErr := runPlain(t.Context(), tc.Expr, input)
			if tc.Error != "" {
				if guardedErr == nil || !strings.Contains(guardedErr.Error(), tc.Error) {
					t.Fatalf("guarded: got %s, %v; want an error containing %q", guarded, guardedErr, tc.Error)
				}
				if strings.Contains(guardedErr.Error(), ErrLimit.Error()) {
					return // plain gojq would allocate it
				}
			}
			if (guardedErr == nil) != (plainErr == nil) || guarded != plain {
				t.Fatalf("guarded: %s, %v\nplain gojq: %s, %v", guarded, guardedErr, plain, plainErr)
			}
			if guardedErr != nil && !strings.HasSuffix(guardedErr.Error(), plainErr.Error()) {
				t.Fatalf("guarded error %q, plain gojq %q", guardedErr, plainErr)
			}
			if len(tc.Outputs) > 0 {
				if guardedErr != nil {
					t.Fatalf("outputs %s and error %v, want outputs only", guarded, guardedErr)
				}
				if want := string(mustCompact(t, tc.Outputs)); guarded != want {
					t.Fatalf("outputs %s, want %s", guarded, want)
				}
			}
		})
	}
}

// runGuarded evaluates expr with Compile, and renders its outputs as one
// JSON array (NaN, which JSON lacks, as a marker).
func runGuarded(ctx context.Context, expr string, input any) (string, error) {
	q, err := Compile(expr)
	if err != nil {
		return "", err
	}
	out, err := q.Run(ctx, input)
	return render(out), err
}

// runPlain evaluates expr with gojq alone: the reference.
func runPlain(ctx context.Context, expr string, input any) (string, error) {
	parsed, err := gojq.Parse(expr)
	if err != nil {
		return "", err
	}
	code, err := gojq.Compile(parsed)
	if err != nil {
		return "", err
	}
	iter := code.RunWithContext(ctx, input)
	var out []any
	for {
		v, ok := iter.Next()
		if !ok {
			return render(out), nil
		}
		if err, isErr := v.(error); isErr {
			return render(out), err
		}
		out = append(out, v)
	}
}

func render(out []any) string {
	if out == nil {
		out = []any{}
	}
	data, err := gojq.Marshal(out)
	if err != nil {
		return fmt.Sprintf("unrenderable %v", out)
	}
	var back any
	if err := decodeJSON(data, &back); err != nil {
		return string(data)
	}
	canon, _ := json.Marshal(back)
	return string(canon)
}

// FuzzGuardsMatchGojq compares the guarded evaluator with plain gojq on
// arbitrary expressions and small inputs: whatever the guards refuse must be
// over the budget, and everything else must come out exactly as gojq has it.
func FuzzGuardsMatchGojq(f *testing.F) {
	for _, tc := range []struct{ expr, input string }{
		{`.a + .b`, `{"a":"x","b":"y"}`}, {`. * 2`, `"ab"`}, {`. * .`, `{"a":{"b":1}}`}, {`[(1,2) + (3,4)]`, `null`},
		{`.[] += 1`, `[1,2]`}, {`"\(.)"`, `[1,{"a":null}]`}, {`@base64 "x\(.)"`, `"é"`}, {`join("-")`, `["a",1,null]`},
		{`add`, `[[1],[2]]`}, {`flatten(1)`, `[[[1]]]`}, {`. / ","`, `"a,b"`}, {`[match("a";"g").offset]`, `"aa"`},
		{`gsub("(?<x>a)";"\(.x)!")`, `"abab"`}, {`.[.n] = 1`, `{"n":2}`}, {`setpath([1,"a"];2)`, `[]`}, {`transpose`, `[[1],[2,3]]`},
		{`tojson`, `{"a":[1.5,"x"]}`}, {`explode | implode`, `"añ"`}, {`indices(", ")`, `"a, b"`}, {`builtins | length > 10`, `null`},
		{`def f(x): x + 1; f(.)`, `1`}, {`.a *= 2 | .b /= 2`, `{"a":"x","b":4}`}, {`reduce .[] as $x (""; . + $x)`, `["a","b"]`},
		{`path(.a + 1)`, `{}`}, {`try (. + {}) catch .`, `1`}, {`fromjson`, `"[1,[2]]"`},
	} {
		f.Add(tc.expr, tc.input)
	}
	f.Fuzz(func(t *testing.T, expr, inputText string) {
		var input any
		if err := decodeJSON([]byte(inputText), &input); err != nil || len(inputText) > 200 {
			return
		}
		if _, err := gojq.Parse(expr); err != nil {
			return
		}
		q, err := Compile(expr, WithTimeout(100*time.Millisecond), WithMaxOutputs(100))
		if err != nil {
			return // forbidden names and literal regular expressions gojq would reject at run time
		}
		out, err := q.Run(t.Context(), input)
		if errors.Is(err, ErrLimit) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrTooManyOutputs) {
			return // plain gojq would run away
		}
		guarded := render(out)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		plain, plainErr := runPlainCapped(ctx, expr, input, 100)
		if ctx.Err() != nil {
			return
		}
		if (err == nil) != (plainErr == nil) || guarded != plain {
			t.Fatalf("%s on %s:\nguarded: %s, %v\nplain gojq: %s, %v", expr, inputText, guarded, err, plain, plainErr)
		}
		if err != nil && !strings.HasSuffix(err.Error(), plainErr.Error()) {
			t.Fatalf("%s on %s: guarded error %q, plain gojq %q", expr, inputText, err, plainErr)
		}
	})
}

// runPlainCapped is runPlain with gojq's environment and input disabled as in
// Compile, stopping after max values.
func runPlainCapped(ctx context.Context, expr string, input any, maxValues int) (string, error) {
	parsed, err := gojq.Parse(expr)
	if err != nil {
		return "", err
	}
	code, err := gojq.Compile(parsed)
	if err != nil {
		return "", err
	}
	iter := code.RunWithContext(ctx, input)
	var out []any
	for len(out) <= maxValues {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			return render(out), err
		}
		out = append(out, v)
	}
	return render(out), nil
}
