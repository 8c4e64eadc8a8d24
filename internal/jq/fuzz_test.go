package jq

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzCompileRun feeds arbitrary expressions through Compile and Run against
// a realistic resource document. Whatever the expression, the result must be
// values or an *Error naming the expression, within the deadline, and never
// the process environment.
func FuzzCompileRun(f *testing.F) {
	const secret = "fuzz-secret-in-environment"
	f.Setenv("FUZZ_SECRET", secret)
	for _, seed := range []string{
		".FunctionName", `"x" + .Arn`, ".Tags | map({(.Key): .Value}) | add", "range(1e12)",
		"def f: f; f", "env", "$ENV", "input", `import "a" as a; .`, ".Layers[]", `.Cluster | split("/")[-1]`,
		"[.[]?] | length", "..", "paths", "tojson | fromjson", `@base64d`, "ltrimstr(1)", "limit(3; repeat(.))",
		`"\(.)"`, "getpath([\"a\",\"b\"])", "to_entries", "splits(\"a\")", "$__loc__", "{} | .a.b.c",
	} {
		f.Add(seed)
	}
	var doc any
	if err := json.Unmarshal([]byte(`{"FunctionName":"my-fn","Arn":"arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
		"MemorySize":128,"Tags":[{"Key":"team","Value":"x"}],"Layers":["l1","l2"],"Cluster":"a/b","Nested":{"a":[1,2,{"b":null}]}}`), &doc); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		q, err := Compile(expr, WithTimeout(50*time.Millisecond), WithMaxOutputs(100))
		if err != nil {
			var jqErr *Error
			if !errors.As(err, &jqErr) || jqErr.Expr != expr {
				t.Fatalf("compile error %v is not an *Error for the expression", err)
			}
			return
		}
		start := time.Now()
		out, err := q.Run(t.Context(), doc)
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Fatalf("%q ran for %s despite a 50ms deadline", expr, elapsed)
		}
		if err != nil {
			var jqErr *Error
			if !errors.As(err, &jqErr) {
				t.Fatalf("run error %v is not an *Error", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("%q: error leaks the environment", expr)
			}
			return
		}
		data, err := json.Marshal(out)
		if err != nil {
			// gojq may yield NaN or infinities (e.g. nan, infinite); the
			// mapping layer reports those when it encodes entities.
			return
		}
		if strings.Contains(string(data), secret) {
			t.Fatalf("%q leaks the environment: %s", expr, data)
		}
	})
}

// FuzzCompileMessage feeds arbitrary text to CompileMessage as an attacker
// would. Invariants: it never panics; text over the length bound is refused
// with ErrLimit before parsing; every error is an *Error naming the text;
// what compiles runs against a message within a bounded time and yields at
// most MessageMaxOutputs values or an error; and compiling the same text
// again gives the same answer (the cache).
func FuzzCompileMessage(f *testing.F) {
	for _, seed := range []string{
		`"\"eu-west-1\""`, `.detail.awsRegion`, `if .eventName | startswith("Delete") then "delete" else "upsert" end`,
		`[.arn, .cluster] | join("|")`, `.a | sub("^[^/]*/"; "")`, `(.x | split(":") | length) as $n | $n % 2`,
		`"a" * 1e9`, `[[[[[[[[.]]]]]]]]`, `"\(\("\(.)")")"`, `def f: f; f`, `reduce .[] as $x (0; .)`, `..`, `env`,
		`"\(`, `# comment\n.a`, `.a[.b]`, `{(.a): .b}`, `.[] | .[] | .[]`, `[.[], .[]] | [.[], .[]] | length`,
	} {
		f.Add(seed)
	}
	var doc any
	if err := json.Unmarshal([]byte(`{"resource_type":"AWS::Lambda::Function","eventName":"DeleteFunction20150331",
		"requestFunctionName":"fn","responseFunctionName":"","awsRegion":"eu-west-1","arn":"arn:aws:x:eu-west-1:1:y/z",
		"tags":[{"Key":"a","Value":"b"}],"n":3}`), &doc); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		q, err := CompileMessage(expr)
		if len(expr) > MaxMessageExprBytes && !errors.Is(err, ErrLimit) {
			t.Fatalf("%d bytes: err = %v, want ErrLimit", len(expr), err)
		}
		if q2, err2 := CompileMessage(expr); q2 != q || (err == nil) != (err2 == nil) {
			t.Fatalf("compiling again gave %v, %v; first %v, %v", q2, err2, q, err)
		}
		if err != nil {
			var jqErr *Error
			if !errors.As(err, &jqErr) || jqErr.Expr != expr {
				t.Fatalf("error %v is not an *Error for the expression", err)
			}
			return
		}
		start := time.Now()
		out, err := q.Run(t.Context(), doc)
		if elapsed := time.Since(start); elapsed > MessageTimeout+2*time.Second {
			t.Fatalf("%q ran for %s", expr, elapsed)
		}
		if err == nil && len(out) > MessageMaxOutputs {
			t.Fatalf("%q yielded %d values", expr, len(out))
		}
	})
}
