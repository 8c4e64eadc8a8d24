package jq

import (
	"context"
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

type memoryCase struct {
	Expr  string          `json:"expr"`
	Input json.RawMessage `json:"input"`
	Stop  string          `json:"stop"` // memory, either or none
}

// memorySlack is what an evaluation may allocate beyond its limit before it
// stops: what the process allocates between two watchdog samples, plus
// gojq's own bookkeeping. With DefaultMemoryLimit (40 MiB) it keeps every
// evaluation within the 64 MiB target.
const memorySlack = 24 << 20

// TestRunawayMemoryIsBounded runs every expression of testdata/memory.yaml
// alone and measures what the process allocated meanwhile: the bound holds
// for the allocation volume, hence for the heap's growth too.
func TestRunawayMemoryIsBounded(t *testing.T) {
	data, err := os.ReadFile("testdata/memory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []memoryCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("testdata/memory.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/memory.yaml has no cases")
	}
	var worst uint64
	for _, tc := range cases {
		t.Run(tc.Expr, func(t *testing.T) {
			var input any
			if len(tc.Input) > 0 {
				if err := decodeJSON(tc.Input, &input); err != nil {
					t.Fatalf("input: %v", err)
				}
			}
			q := mustCompile(t, tc.Expr, WithTimeout(3*time.Second), WithMaxOutputs(1<<62))
			allocated, _, err := measure(func() ([]any, error) { return q.Run(t.Context(), input) })
			worst = max(worst, allocated)
			t.Logf("allocated %s: %v", formatBytes(int64(allocated)), err)
			switch tc.Stop {
			case "memory":
				if !errors.Is(err, ErrMemory) {
					t.Fatalf("err = %v, want ErrMemory", err)
				}
			case "either":
				if !errors.Is(err, ErrMemory) && !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrMemory or ErrTimeout", err)
				}
			case "none":
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("stop %q: want memory, either or none", tc.Stop)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "jq: run error in") || !strings.Contains(err.Error(), quoteExpr(tc.Expr)) {
					t.Fatalf("error %q does not name the expression", err)
				}
			}
			if allocated > DefaultMemoryLimit+memorySlack && !raceDetector {
				t.Fatalf("allocated %s, over %s", formatBytes(int64(allocated)), formatBytes(DefaultMemoryLimit+memorySlack))
			}
		})
	}
	t.Logf("worst: %s", formatBytes(int64(worst)))
}

// measure runs fn after a collection and reports what the process allocated
// meanwhile and its peak heap growth, read after fn returns (HeapAlloc drops
// only at a collection, and the limit keeps fn's volume under the next GC
// goal, so the peak is what TotalAlloc says at most).
func measure(fn func() ([]any, error)) (allocated uint64, out []any, err error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err = fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, out, err
}

// TestConcurrentRunawaysAreBoundedTogether runs several runaways at once: the
// watchdog charges each with everything the process allocates while it runs,
// so together they stay within about one limit, not one each.
func TestConcurrentRunawaysAreBoundedTogether(t *testing.T) {
	exprs := []string{"[range(1e9)]", `[range(1e9) | tostring]`, "reduce range(1e9) as $i ([]; . + [$i])", `[limit(1e8; repeat(1))]`}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	errs := make([]error, len(exprs))
	for i, expr := range exprs {
		q := mustCompile(t, expr, WithTimeout(5*time.Second), WithMaxOutputs(1<<62))
		wg.Go(func() { _, errs[i] = q.Run(t.Context(), nil) })
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	for i, err := range errs {
		if !errors.Is(err, ErrMemory) {
			t.Errorf("%s: err = %v, want ErrMemory", exprs[i], err)
		}
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d runaways at once allocated %s", len(exprs), formatBytes(int64(allocated)))
	if allocated > DefaultMemoryLimit+2*memorySlack && !raceDetector {
		t.Fatalf("allocated %s together", formatBytes(int64(allocated)))
	}
}

// TestMemoryLimitOption checks that the limit is the caller's to set, and
// that an ordinary expression is far from it.
func TestMemoryLimitOption(t *testing.T) {
	q := mustCompile(t, `"x" * 2000`, WithMemoryLimit(1000))
	if _, err := q.Run(t.Context(), nil); !errors.Is(err, ErrMemory) {
		t.Fatalf("err = %v, want ErrMemory with a 1000-byte limit", err)
	}
	out, err := mustCompile(t, `"x" * 2000 | length`).Run(t.Context(), nil)
	if err != nil || len(out) != 1 || out[0] != 2000 {
		t.Fatalf(`"x" * 2000 | length = %v, %v`, out, err)
	}
}

// TestTryCannotCatchTheLimit makes sure a refused allocation ends the whole
// evaluation: otherwise try would let an expression retry forever.
func TestTryCannotCatchTheLimit(t *testing.T) {
	q := mustCompile(t, `[range(10) | try ("a" * 1e9) catch "caught"]`)
	out, err := q.Run(t.Context(), nil)
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("got %v, %v; want ErrMemory", out, err)
	}
}

// stallingContext stands for the scheduler: after some instructions it
// holds the evaluation (inside Done, which gojq calls before each one) while
// another goroutine allocates, as a descheduled evaluation would experience.
type stallingContext struct {
	context.Context
	calls      int
	stallAfter int
	during     func()
}

func (c *stallingContext) Done() <-chan struct{} {
	c.calls++
	if c.calls == c.stallAfter {
		c.during()
	}
	return c.Context.Done()
}

// TestStalledEvaluationIsNotBlamed: an honest evaluation that waits while
// the rest of the process allocates far more than its limit keeps running.
func TestStalledEvaluationIsNotBlamed(t *testing.T) {
	var sink [][]byte
	ctx := &stallingContext{Context: t.Context(), stallAfter: 200, during: func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 200 {
				sink = append(sink, make([]byte, 1<<20))
				if len(sink) == 20 {
					sink = sink[:0]
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
		<-done
	}}
	out, err := mustCompile(t, "[range(1000)] | length").Run(ctx, nil)
	if err != nil || len(out) != 1 || out[0] != 1000 {
		t.Fatalf("got %v, %v; want [1000]", out, err)
	}
	if ctx.calls < ctx.stallAfter {
		t.Fatalf("the evaluation asked Done only %d times: gojq no longer asks before each instruction", ctx.calls)
	}
}
