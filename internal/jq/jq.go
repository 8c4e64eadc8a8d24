// Package jq compiles and runs the jq expressions of the exporter's config
// with gojq, inside a sandbox: no process environment, no input reading, no
// module loading, and a bound on running time, number of outputs and memory,
// so that a mistake in a config (range(1e12), unbounded recursion, "x" * 1e9)
// or an expression injected through an event cannot hang or exhaust the
// exporter. See budget.go for how memory is bounded.
package jq

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/itchyny/gojq"
)

// DefaultTimeout bounds one evaluation. Mapping expressions touch one
// resource document of a few kilobytes and finish in microseconds; a second
// is generous for any honest expression and short enough that a runaway one
// is noticed quickly. Memory is bounded separately (DefaultMemoryLimit): within
// a second a runaway such as [range(1e9)] would otherwise allocate hundreds of
// megabytes.
const DefaultTimeout = time.Second

// DefaultMaxOutputs caps how many values one evaluation may yield. Mappings
// use the first value (or, for itemsToParse, one array); a stream of more
// than this many values is a mistake, not data.
const DefaultMaxOutputs = 10_000

// ErrTooManyOutputs is returned (wrapped) when an evaluation yields more than
// the configured maximum number of values.
var ErrTooManyOutputs = errors.New("too many outputs")

// ErrTimeout is returned (wrapped) when an evaluation runs past its deadline.
// The caller's own cancellation is reported as the context's error instead.
var ErrTimeout = errors.New("evaluation took too long")

// forbidden names the builtins that would let a config read the process
// environment. gojq already lacks file and network access, and refuses
// input/inputs without an input iterator and import/include without a module
// loader; env and $ENV would otherwise compile to an (empty) object, which
// hides the mistake, so they are rejected at compile time instead.
var forbidden = map[string]string{
	"env":  "env is not available: the exporter does not expose its environment to jq",
	"$ENV": "$ENV is not available: the exporter does not expose its environment to jq",
}

// Option adjusts how a Query evaluates.
type Option func(*Query)

// WithTimeout sets the deadline of one evaluation (default DefaultTimeout).
// Zero or negative keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(q *Query) {
		if d > 0 {
			q.timeout = d
		}
	}
}

// WithMaxOutputs sets how many values one evaluation may yield (default
// DefaultMaxOutputs). Zero or negative keeps the default.
func WithMaxOutputs(n int) Option {
	return func(q *Query) {
		if n > 0 {
			q.maxOutputs = n
		}
	}
}

// WithMemoryLimit sets how many bytes one evaluation may allocate (default
// DefaultMemoryLimit). Zero or negative keeps the default.
func WithMemoryLimit(bytes int64) Option {
	return func(q *Query) {
		if bytes > 0 {
			q.memoryLimit = bytes
		}
	}
}

// Query is a compiled expression. It is safe for concurrent use: gojq keeps
// each run's state apart from the compiled code.
type Query struct {
	expr        string
	code        *gojq.Code
	timeout     time.Duration
	maxOutputs  int
	memoryLimit int64
}

// Error is an error of one expression: compiling or running it.
type Error struct {
	Expr  string // the expression as written in the config
	Phase string // "parse", "compile" or "run"
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("jq: %s error in %s: %v", e.Phase, quoteExpr(e.Expr), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// maxQuotedExpr keeps error messages readable when an expression is long;
// the config path in front of the message says where the whole of it is.
const maxQuotedExpr = 120

func quoteExpr(expr string) string {
	r := []rune(expr)
	if len(r) > maxQuotedExpr {
		return fmt.Sprintf("%q…", string(r[:maxQuotedExpr]))
	}
	return fmt.Sprintf("%q", expr)
}

// Compile parses and compiles expr once, in the sandbox.
func Compile(expr string, opts ...Option) (*Query, error) {
	parsed, err := gojq.Parse(expr)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w at offset %d", err, pe.Offset)
		}
		return nil, &Error{Expr: expr, Phase: "parse", Err: err}
	}
	if name, ok := findForbidden(parsed); ok {
		return nil, &Error{Expr: expr, Phase: "compile", Err: errors.New(forbidden[name])}
	}
	if err := checkRegexps(parsed); err != nil {
		return nil, &Error{Expr: expr, Phase: "compile", Err: err}
	}
	guardQuery(parsed)
	// No WithEnvironLoader, WithInputIter or WithModuleLoader: gojq then has
	// no environment, refuses input/inputs and refuses import/include.
	code, err := gojq.Compile(parsed, compilerOptions...)
	if err != nil {
		return nil, &Error{Expr: expr, Phase: "compile", Err: err}
	}
	q := &Query{expr: expr, code: code, timeout: DefaultTimeout, maxOutputs: DefaultMaxOutputs, memoryLimit: DefaultMemoryLimit}
	for _, opt := range opts {
		opt(q)
	}
	return q, nil
}

// String returns the expression as written.
func (q *Query) String() string { return q.expr }

// Run evaluates the expression against input and returns every value it
// yields, in order. input must hold JSON values (see Normalize).
func (q *Query) Run(ctx context.Context, input any) ([]any, error) {
	var out []any
	err := q.each(ctx, input, func(v any) bool {
		out = append(out, v)
		return true
	})
	return out, err
}

// First evaluates the expression and returns its first value; ok is false
// when the expression yields nothing. Evaluation stops after the first value.
func (q *Query) First(ctx context.Context, input any) (value any, ok bool, err error) {
	err = q.each(ctx, input, func(v any) bool {
		value, ok = v, true
		return false
	})
	return value, ok, err
}

// compilerOptions define the guards the rewritten expression calls.
var compilerOptions = guardFunctions

func (q *Query) each(ctx context.Context, input any, fn func(any) bool) error {
	// The watchdog enforces the deadline along with the memory limit, to
	// within a millisecond; one registration replaces a timer per evaluation.
	budget := &evaluation{Context: ctx, timeout: q.timeout, limit: q.memoryLimit}
	budget.input = [2]any{input, budget}
	defaultWatchdog.add(budget)
	defer defaultWatchdog.remove(budget)
	iter := q.code.RunWithContext(budget, budget.input[:])
	n := 0
	for {
		v, more := iter.Next()
		if !more {
			return nil
		}
		if err, isErr := v.(error); isErr {
			return q.runError(ctx, err)
		}
		n++
		if n > q.maxOutputs {
			return &Error{Expr: q.expr, Phase: "run", Err: fmt.Errorf("%w: more than %d values", ErrTooManyOutputs, q.maxOutputs)}
		}
		if !fn(v) {
			return nil
		}
	}
}

func (q *Query) runError(ctx context.Context, err error) error {
	if errors.Is(err, ErrMemory) || errors.Is(err, ErrTimeout) {
		return &Error{Expr: q.expr, Phase: "run", Err: err}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return &Error{Expr: q.expr, Phase: "run", Err: ctxErr}
	}
	var halt *gojq.HaltError
	if errors.As(err, &halt) {
		// halt and halt_error would end a jq program; here they can only fail
		// this one evaluation.
		return &Error{Expr: q.expr, Phase: "run", Err: fmt.Errorf("halt is not allowed in mappings: %w", err)}
	}
	return &Error{Expr: q.expr, Phase: "run", Err: err}
}

// findForbidden reports the first use of a forbidden name: a call such as
// env or $ENV, or the object shorthand {$ENV} (short for {"ENV": $ENV}).
func findForbidden(parsed *gojq.Query) (name string, found bool) {
	walk(reflect.ValueOf(parsed), func(node any) bool {
		switch n := node.(type) {
		case *gojq.Func:
			if _, bad := forbidden[n.Name]; bad && len(n.Args) == 0 {
				name, found = n.Name, true
			}
		case *gojq.ObjectKeyVal:
			if n.Val == nil && n.Key == "$ENV" {
				name, found = n.Key, true
			}
		}
		return !found
	})
	return name, found
}
