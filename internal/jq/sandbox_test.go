package jq

import (
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestLegitimateJQRuns holds programs the sandbox once refused or
// mis-compiled: functions defined inside a query or another function,
// redefinitions that shadow, a builtin's name defined by the program (also
// in a path expression), regular expressions that never run or are caught.
// Each must give exactly plain gojq's outputs.
func TestLegitimateJQRuns(t *testing.T) {
	cases := []struct{ expr, input, want string }{
		{`1 as $x | def h: $x + 1; h`, `null`, `[2]`},
		{`.a as $x | def h: $x + 1; h`, `{"a":1}`, `[2]`},
		{`def f: 1; f + f`, `null`, `[2]`},
		{`def f: 1; def f: 2; f`, `null`, `[2]`},
		{`def f: 1; def g: f; def f: 2; g`, `null`, `[1]`},
		{`def f(x): def g: x * 2; g; f(3)`, `null`, `[6]`},
		{`def f($a): a + $a; f(2)`, `null`, `[4]`},
		{`def fac: if . <= 1 then 1 else . * (. - 1 | fac) end; 10 | fac`, `null`, `[3628800]`},
		{`[.[] | def double: . * 2; double]`, `[1,2]`, `[[2,4]]`},
		{`reduce .[] as $x (0; def inc: . + $x; inc)`, `[1,2,3]`, `[6]`},
		{`def tojson: "mine"; tojson`, `null`, `["mine"]`},
		{`def sort: "mine"; [3,1] | sort`, `null`, `["mine"]`},
		{`def add: 42; [1,2] | add`, `null`, `[42]`},
		{`def map(f): "mine"; map(.)`, `null`, `["mine"]`},
		{`def env: "mine"; env`, `null`, `["mine"]`},
		{`def f: .a; path(f)`, `null`, `[["a"]]`},
		{`def tostring: .a; path(tostring)`, `null`, `[["a"]]`},
		{`def f(tojson): tojson; f(.a)`, `{"a":1}`, `[1]`},
		{`if . == "x" then test("(") else "ok" end`, `"y"`, `["ok"]`},
		{`try test("(") catch "caught"`, `"y"`, `["caught"]`},
		{`[.[] | try sub("["; "") catch "bad"]`, `["a"]`, `[["bad"]]`},
		{`"\(1 + 2)-\(.a)"`, `{"a":[1]}`, `["3-[1]"]`},
		{`.a += 1 | .b -= 1 | .c *= 2 | .d /= 2`, `{"a":1,"b":1,"c":"x","d":4}`, `[{"a":2,"b":0,"c":"xx","d":2}]`},
		{`[limit(3; repeat(1))]`, `null`, `[[1,1,1]]`},
		{`[paths]`, `{"a":[1]}`, `[[["a"],["a",0]]]`},
		{`.[1e8]`, `[1]`, `[null]`},
		{`to_entries | map(.value) | sort_by(.) | group_by(. % 2)`, `{"a":3,"b":1,"c":2}`, `[[[2],[1,3]]]`},
		{`[.[] | tostring] | join(",")`, `[1,"a",null]`, `["1,a,null"]`},
		{`builtins | map(select(startswith("#"))) | length`, `null`, `[0]`},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			var input any
			if err := decodeJSON([]byte(tc.input), &input); err != nil {
				t.Fatal(err)
			}
			got, err := runGuarded(t.Context(), tc.expr, input)
			if err != nil {
				t.Fatalf("sandbox: %v", err)
			}
			plain, plainErr := runPlain(t.Context(), tc.expr, input)
			if plainErr != nil || plain != got || got != string(mustCompact(t, json.RawMessage(tc.want))) {
				t.Fatalf("sandbox %s, plain gojq %s %v, want %s", got, plain, plainErr, tc.want)
			}
		})
	}
}

// TestSharedValueEndsWithinDeadline hands a value built by sharing (60
// nested [., .]: 60 arrays, 2^60 leaves as a tree) to every builtin that
// walks a value in one Go call, and to a few that walk it in jq: each must
// fail (a guard's ErrLimit, or the deadline) well within the deadline.
func TestSharedValueEndsWithinDeadline(t *testing.T) {
	const build = `[1] | reduce range(60) as $i (.; [., .]) | `
	walkers := []string{
		"tojson", "tostring", "sort", "unique", "min", "max", "flatten", "add", ". == .", ". != .", ". < .",
		". - .", "contains(.)", "inside(.)", "indices(.)", "index(.)", "[.] | index([.])", "group_by(.)",
		"sort_by(.)", "unique_by(.)", "min_by(.)", "IN(.)", `"\(.)"`, "@json", "@text", "@html", `@base64 "\(.)"`,
		"tojson | length", ". as $x | {a: $x} * {a: $x}", "[.[]] | join(\",\")", "error(.)", "halt_error",
		"walk(.)", "[paths] | length", "[..] | length", "tostream", "[.] | transpose", "bsearch(1)",
		"INDEX(.)", "delpaths([[0]]) | tojson", ". as $x | [1] | .[[$x]]", "[splits(\"a\")]?",
	}
	if len(walkers) < 40 {
		t.Fatalf("only %d walkers", len(walkers))
	}
	const timeout = 300 * time.Millisecond
	var slowest time.Duration
	for _, w := range walkers {
		t.Run(w, func(t *testing.T) {
			q, err := Compile(build+w, WithTimeout(timeout))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = q.Run(t.Context(), nil)
			elapsed := time.Since(start)
			slowest = max(slowest, elapsed)
			// Most are refused by a guard; error(.) and halt_error end at
			// once with a preview of the value; the rest at the deadline or
			// the output cap.
			if err == nil && !strings.HasSuffix(w, "?") {
				t.Fatal("no error")
			}
			// The deadline plus one bounded call, with room for a loaded
			// machine.
			if elapsed > timeout+time.Second {
				t.Fatalf("ended after %s with a %s deadline", elapsed, timeout)
			}
		})
	}
	t.Logf("slowest: %s (deadline %s)", slowest, timeout)
}

type boundsCase struct {
	Expr  string          `json:"expr"`
	Input json.RawMessage `json:"input"`
	Stop  string          `json:"stop"`
}

// TestBounds runs testdata/bounds.yaml: each runaway stops as the case says,
// within the deadline, having allocated a bounded amount. Allocation is
// measured around the evaluation alone, in this goroutine (the test runs
// nothing else meanwhile), so it is this evaluation's.
func TestBounds(t *testing.T) {
	data, err := os.ReadFile("testdata/bounds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []boundsCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	// A refused call allocates its input and little else. Growth step by
	// step is stopped by the deadline or a count; what it allocates meanwhile
	// is mostly garbage (a quadratic . + [$i] loop copies its array each
	// step), so only a loose bound holds for it: it is logged.
	const maxRefused, maxGrowth = 128 << 20, 2 << 30
	var most uint64
	for _, tc := range cases {
		t.Run(tc.Expr, func(t *testing.T) {
			var input any
			if len(tc.Input) > 0 {
				if err := json.Unmarshal(tc.Input, &input); err != nil {
					t.Fatal(err)
				}
			}
			q := mustCompile(t, tc.Expr)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := q.Run(t.Context(), input)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			most = max(most, alloc)
			switch tc.Stop {
			case "limit":
				if !errors.Is(err, ErrLimit) {
					t.Fatalf("err = %v, want ErrLimit", err)
				}
			case "either":
				if !errors.Is(err, ErrLimit) && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrTooManyOutputs) {
					t.Fatalf("err = %v, want ErrLimit, ErrTimeout or ErrTooManyOutputs", err)
				}
			case "none":
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("unknown stop %q", tc.Stop)
			}
			if bound := uint64(maxGrowth); (tc.Stop == "limit" && alloc > maxRefused) || alloc > bound {
				t.Fatalf("allocated %d MiB", alloc>>20)
			}
			if tc.Stop == "either" {
				t.Logf("%s: %s, %d MiB allocated", tc.Expr, elapsed.Round(time.Millisecond), alloc>>20)
			}
			if elapsed > DefaultTimeout+2*time.Second {
				t.Fatalf("took %s", elapsed)
			}
		})
	}
	t.Logf("most allocated by one evaluation: %d MiB", most>>20)
}

// TestHostileMessageIsCheap sends CompileMessage 120 KB of nested brackets
// and a 4 KiB one nested past the bound: both are refused before gojq sees
// them, in microseconds and without allocating per byte.
func TestHostileMessageIsCheap(t *testing.T) {
	huge := strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000)
	deep := strings.Repeat("(", MaxMessageExprDepth+1) + "." + strings.Repeat(")", MaxMessageExprDepth+1)
	interp := `"` + strings.Repeat(`\("`, MaxMessageExprDepth+1) + `"`
	for _, expr := range []string{huge, deep, interp} {
		if _, err := CompileMessage(expr); !errors.Is(err, ErrLimit) {
			t.Fatalf("%d bytes: err = %v, want ErrLimit", len(expr), err)
		}
		allocs := testing.AllocsPerRun(20, func() { _, _ = CompileMessage(expr) })
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, _ = CompileMessage(expr)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		bytes := after.TotalAlloc - before.TotalAlloc
		t.Logf("%d bytes refused in %s, %.0f allocations, %d bytes allocated", len(expr), elapsed, allocs, bytes)
		if allocs > 10 || bytes > 16<<10 || elapsed > 50*time.Millisecond {
			t.Fatalf("refusing %d bytes cost %s, %.0f allocations, %d bytes", len(expr), elapsed, allocs, bytes)
		}
	}
	// Just inside the bounds is a program like any other.
	ok := strings.Repeat("[", MaxMessageExprDepth) + `"x"` + strings.Repeat("]", MaxMessageExprDepth) + " | flatten? // .[0]"
	if _, err := CompileMessage(strings.Repeat("[", MaxMessageExprDepth) + `"x"` + strings.Repeat("]", MaxMessageExprDepth)); err != nil {
		t.Fatalf("nesting at the bound: %v", err)
	}
	if _, err := CompileMessage(ok); err == nil {
		t.Fatal("flatten is not in the message grammar, yet compiled")
	}
}

// TestMessageGrammar refuses what messages never need and accepts what the
// rules write.
func TestMessageGrammar(t *testing.T) {
	refused := []string{
		`def f: 1; f`, `reduce .[] as $x (0; . + $x)`, `foreach .[] as $x (0; . + 1)`, `label $out | 1`,
		`range(10)`, `recurse`, `..`, `[limit(1; repeat(1))]`, `until(. > 1; . + 1)`, `env`, `$ENV`, `input`,
		`@base64`, `.a |= 1`, `.a = 1`, `import "a" as a; .`, `test(.pattern)`, `sub(.re; "x")`,
		`test("` + strings.Repeat("a", MaxMessagePattern+1) + `")`, `getpath(["a"])`, `tojson`, `splits("a")`,
		`[.[] | tostring] | sort`, `path(.a)`, `paths`, `walk(.)`, `match("a")`, `ascii`, `input_filename`,
	}
	accepted := []string{
		`.a`, `"\"x\""`, `.a | split(":")[-1]`, `if .a then "delete" elif .b then "x" else "upsert" end`,
		`(.a | length) as $n | $n % 2 == 1`, `[.a, .b] | join("|")`, `.a // .b`, `.x | startswith("A") and (. | endswith("B") | not)`,
		`.a | sub("^[^/]*/"; "")`, `.a | gsub("#"; "_")`, `.a | test("^x")`, `{a: .b}`, `"arn:\(.a):x"`, `.a[0:3]`, `.a?`,
		`try .a catch "x"`, `.a | map(select(. > 1)) | first`, `[.[] | ascii_downcase] | any`,
	}
	if len(refused) < 25 || len(accepted) < 15 {
		t.Fatalf("only %d refused and %d accepted cases", len(refused), len(accepted))
	}
	for _, expr := range refused {
		if _, err := CompileMessage(expr); err == nil {
			t.Errorf("%s compiled as a message expression", expr)
		}
	}
	for _, expr := range accepted {
		if _, err := CompileMessage(expr); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
	// Arithmetic is in the grammar; the config guards still bound it.
	q, err := CompileMessage(`"a" * 1e8`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(t.Context(), map[string]any{}); !errors.Is(err, ErrLimit) {
		t.Fatalf("string repetition in a message: %v, want ErrLimit", err)
	}
}

func TestMessageCache(t *testing.T) {
	a, err := CompileMessage(`.cache_test_a`)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := CompileMessage(`.cache_test_a`); b != a {
		t.Fatal("the same text compiled twice")
	}
	// Many distinct texts, concurrently: the cache stays within its bound
	// and every query runs.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				q, err := CompileMessage(".f" + itoa(g*1000+i))
				if err == nil {
					_, err = q.Run(t.Context(), map[string]any{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := messageCache.len(); n > messageCacheSize || n < messageCacheSize/2 {
		t.Fatalf("cache holds %d entries, bound %d", n, messageCacheSize)
	}
	if c, _ := CompileMessage(`.cache_test_a`); c == a {
		t.Fatal("the least recently used entry was kept past the bound")
	}
}
