package jq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/itchyny/gojq"
	"sigs.k8s.io/yaml"
)

// program is one jq program of a vendored test suite, with its inputs.
type program struct {
	source string // file:line or file:name
	expr   string
	inputs []any
}

// TestConformance runs every program of jq's and gojq's own test suites
// (testdata/conformance, see SOURCES.md) through Compile and through plain
// gojq, on the same inputs: whatever plain gojq does, the sandbox must do,
// value for value and error for error. A program is skipped only for a
// reason named in the report: it needs what the sandbox withholds on purpose
// (the environment), or a command-line feature outside a program (--arg,
// raw input, files), or its input is not JSON, or plain gojq cannot compile
// it (the suites' own compile-failure tests).
func TestConformance(t *testing.T) {
	var programs []program
	skipped := map[string]int{}
	programs = append(programs, loadJQTests(t, "testdata/conformance/jq.test", skipped)...)
	programs = append(programs, loadJQTests(t, "testdata/conformance/man.test", skipped)...)
	cli, cliSkips := loadGojqTests(t, "testdata/conformance/gojq-cli-test.yaml")
	programs = append(programs, cli...)
	for reason, n := range cliSkips {
		skipped[reason] += n
	}
	notLoaded := sumOf(skipped)
	run, equal := 0, 0
	for _, p := range programs {
		start := time.Now()
		reason, ok := compare(t, p)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Logf("%s took %s", p.source, d)
		}
		if reason != "" {
			skipped[reason]++
			continue
		}
		run++
		if ok {
			equal++
		}
	}
	var reasons []string
	for r, n := range skipped {
		reasons = append(reasons, r+": "+itoa(n))
	}
	sort.Strings(reasons)
	t.Logf("conformance: %d programs, %d run, %d equal to plain gojq; skipped: %s", len(programs)+notLoaded, run, equal, strings.Join(reasons, "; "))
	// The suites hold about 1,700 programs; most must run.
	if run < 1200 {
		t.Errorf("only %d programs ran", run)
	}
	if equal != run {
		t.Errorf("%d of %d programs differ from plain gojq", run-equal, run)
	}
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// compare runs one program both ways. It returns a skip reason, or whether
// the results are equal (reporting the difference).
func compare(t *testing.T, p program) (skip string, equal bool) {
	t.Helper()
	parsed, err := gojq.Parse(p.expr)
	if err != nil {
		return "plain gojq cannot parse it", false
	}
	plainCode, err := gojq.Compile(parsed)
	if err != nil {
		return "plain gojq cannot compile it", false
	}
	q, err := Compile(p.expr, WithMaxOutputs(1<<20), WithTimeout(10*time.Second))
	if err != nil {
		if strings.Contains(err.Error(), "is not available: the exporter does not expose its environment") {
			return "uses $ENV or env", false
		}
		t.Errorf("%s: %s: the sandbox cannot compile what plain gojq can: %v", p.source, p.expr, err)
		return "", false
	}
	for _, input := range p.inputs {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		plain, plainErr := runCode(ctx, plainCode, input)
		cancel()
		sandboxed, sandboxErr := q.Run(t.Context(), input)
		g, w := render(sandboxed), render(plain)
		if g != w || (sandboxErr == nil) != (plainErr == nil) ||
			(sandboxErr != nil && !strings.HasSuffix(sandboxErr.Error(), plainErr.Error())) {
			t.Errorf("%s: %s\nsandbox:    %s %v\nplain gojq: %s %v", p.source, p.expr, g, sandboxErr, w, plainErr)
			return "", false
		}
	}
	return "", true
}

func runCode(ctx context.Context, code *gojq.Code, input any) ([]any, error) {
	iter := code.RunWithContext(ctx, input)
	var out []any
	for {
		v, ok := iter.Next()
		if !ok {
			return out, nil
		}
		if err, isErr := v.(error); isErr {
			// halt too ends in an error (a *gojq.HaltError) for a library:
			// the gojq CLI alone turns it into an exit status.
			return out, err
		}
		out = append(out, v)
	}
}

// loadJQTests reads jq's test format: groups of lines separated by blank
// lines, '#' lines ignored; a group is a program, an input and the expected
// outputs, or %%FAIL, a program and an error (a compile failure).
func loadJQTests(t *testing.T, path string, skipped map[string]int) []program {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []program
	var group []string
	start := 0
	flush := func() {
		var input any
		switch {
		case len(group) == 0:
		case strings.HasPrefix(group[0], "%%FAIL"):
			skipped["jq compile-failure test (%%FAIL)"]++
		case len(group) < 2:
			skipped["jq test without an input"]++
		case decodeJSON([]byte(group[1]), &input) != nil:
			skipped["jq test whose input is not one JSON value"]++
		default:
			out = append(out, program{source: path + ":" + itoa(start), expr: group[0], inputs: []any{input}})
		}
		group = nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#") && len(group) == 0:
		default:
			if len(group) == 0 {
				start = i + 1
			}
			group = append(group, line)
		}
	}
	flush()
	if len(out) < 100 {
		t.Fatalf("%s: only %d programs", path, len(out))
	}
	return out
}

type cliCase struct {
	Name  string   `json:"name"`
	Args  []string `json:"args"`
	Input *string  `json:"input"`
}

// loadGojqTests reads gojq's cli/test.yaml, keeping the cases that are one
// program run on JSON input, with flags that change only how values are
// printed.
func loadGojqTests(t *testing.T, path string) ([]program, map[string]int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []cliCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	printing := map[string]bool{"-c": true, "-r": true, "-j": true, "-a": true, "-S": true, "-C": true, "-M": true, "--tab": true,
		"--compact-output": true, "--raw-output": true, "--join-output": true, "--ascii-output": true, "--sort-keys": true,
		"--color-output": true, "--monochrome-output": true, "-e": true, "--exit-status": true}
	skips := map[string]int{}
	var out []program
cases:
	for _, c := range cases {
		var expr *string
		null, slurp := false, false
		for i := 0; i < len(c.Args); i++ {
			a := c.Args[i]
			switch {
			case a == "-n" || a == "--null-input":
				null = true
			case a == "-s" || a == "--slurp":
				slurp = true
			case a == "--indent":
				i++
			case printing[a] || (len(a) > 2 && a[0] == '-' && a[1] != '-' && allPrinting(a, printing)):
			case strings.HasPrefix(a, "-") && expr == nil && a != "-":
				skips["gojq CLI flag "+a]++
				continue cases
			case expr == nil:
				expr = &c.Args[i]
			default:
				skips["gojq CLI input files"]++
				continue cases
			}
		}
		if expr == nil {
			skips["gojq CLI without a program"]++
			continue
		}
		var inputs []any
		if c.Input != nil {
			dec := json.NewDecoder(bytes.NewReader([]byte(*c.Input)))
			dec.UseNumber()
			for {
				var v any
				if err := dec.Decode(&v); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					skips["gojq CLI input that is not JSON"]++
					continue cases
				}
				inputs = append(inputs, v)
			}
		}
		switch {
		case null:
			inputs = []any{nil}
		case slurp:
			if inputs == nil {
				inputs = []any{}
			}
			inputs = []any{inputs}
		}
		out = append(out, program{source: path + ":" + c.Name, expr: *expr, inputs: inputs})
	}
	return out, skips
}

// allPrinting reports whether combined short flags (-cr) are all printing
// flags.
func allPrinting(a string, printing map[string]bool) bool {
	for _, c := range a[1:] {
		if !printing["-"+string(c)] {
			return false
		}
	}
	return true
}
