// Package jq compiles and runs the exporter's jq expressions with gojq, in
// one of two sandboxes, one per threat model.
//
// Config expressions (Compile) are the operator's own code in config.json:
// any jq program is accepted and must behave exactly as in plain gojq; the
// sandbox only has to stop mistakes such as [range(1e12)], "x" * 1e9 or
// sorting a value built by sharing ([1] | reduce range(60) as $i (.; [., .])
// | sort) from hanging or exhausting the exporter. Every evaluation has a
// deadline (gojq checks it between VM instructions), an output cap, and
// guards in front of the few operations that can allocate or compute without
// bound inside one Go call, where the deadline is not seen: see guard.go.
// The guards measure the values handed to those operations, per evaluation,
// so one evaluation's bound does not depend on what else the process does:
// a value handed to or built by one such call is at most 2M units (a JSON
// node, or 8 bytes of string: 16 MiB of text), nested at most 100,000 deep;
// one evaluation walks at most 16M units in them, collects at most 4M array
// elements, makes at most 131,072 calls of its own functions or recursion
// steps, writes no array index past 4M, and yields outputs within the same
// size bound. Everything else runs as in plain gojq, which the conformance
// test checks against jq's and gojq's own test suites.
//
// Message expressions (CompileMessage) arrive in SQS event messages: anyone
// who can send to the queue, or who can put a string into a CloudTrail record
// a rule copies, writes them. Before gojq parses one, its length and bracket
// nesting are bounded (MaxMessageExprBytes, MaxMessageExprDepth), so a hostile
// message costs microseconds; the parsed program must then stay inside a
// small grammar (paths, literals, operators, if, as-bindings, construction and
// a list of pure builtins: message.go) with no definitions, loops or
// recursion; it runs with the config guards, a short deadline and a small
// output cap, and is compiled once per distinct text (a bounded LRU cache).
//
// Speed (mapping runs about fifteen expressions per resource): First
// evaluates an expression made only of the common constructs (paths, string
// +, if, //, split, select, map, add: native.go) as Go closures, with the
// same guards and no deadline (they do linear work), and gives up to gojq
// on anything unusual, so values and errors stay gojq's. Batch runs what a
// mapping leaves to gojq as one program, and Deadline shares one deadline
// among the evaluations of one resource; a batch that fails tells the
// caller to evaluate one expression at a time, with its own deadline, so
// that the failing one is named.
//
// Both sandboxes compile without gojq's environ loader, input iterator or
// module loader: $ENV and env are compile errors (the environment holds
// credentials), input/inputs are refused and import/include load nothing.
package jq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itchyny/gojq"
)

// DefaultTimeout bounds one evaluation of a config expression. Mapping
// expressions touch one resource document of a few kilobytes and finish in
// microseconds; a second is generous for any honest expression and short
// enough that a runaway one is noticed quickly.
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

// ErrLimit is returned (wrapped) when a guarded operation would exceed the
// sandbox's bounds on value size, nesting or work (see guard.go).
var ErrLimit = errors.New("exceeds the jq sandbox's bounds")

// envMessage is the error for the routes to the process environment. gojq
// without an environ loader would compile them to an empty object, which
// hides the mistake, so they are compile errors instead.
func envMessage(name string) string {
	return name + " is not available: the exporter does not expose its environment to jq"
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

// WithoutNative evaluates the expression in gojq only, never on the native
// path (native.go): the reference the tests of the native path compare it
// with.
func WithoutNative() Option {
	return func(q *Query) { q.native = nil }
}

// Query is a compiled expression. It is safe for concurrent use: gojq keeps
// each run's state apart from the compiled code, and each run has its own
// budget.
type Query struct {
	expr       string
	code       *gojq.Code
	native     nfunc // nil: the expression needs gojq (native.go)
	timeout    time.Duration
	maxOutputs int
}

// Error is an error of one expression: compiling or running it.
type Error struct {
	Expr  string // the expression as written
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

// Compile parses and compiles a config expression once, in the sandbox.
func Compile(expr string, opts ...Option) (*Query, error) {
	parsed, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return compile(expr, parsed, opts)
}

func parse(expr string) (*gojq.Query, error) {
	parsed, err := gojq.Parse(expr)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w at offset %d", err, pe.Offset)
		}
		return nil, &Error{Expr: expr, Phase: "parse", Err: err}
	}
	return parsed, nil
}

func compile(expr string, parsed *gojq.Query, opts []Option) (*Query, error) {
	native := nativeOf(parsed) // before guard rewrites the tree
	if err := guard(parsed); err != nil {
		return nil, &Error{Expr: expr, Phase: "compile", Err: err}
	}
	// No WithEnvironLoader, WithInputIter or WithModuleLoader: gojq then has
	// no environment, refuses input/inputs and refuses import/include.
	code, err := gojq.Compile(parsed, guardOptions...)
	if err != nil {
		return nil, &Error{Expr: expr, Phase: "compile", Err: err}
	}
	q := &Query{expr: expr, code: code, native: native, timeout: DefaultTimeout, maxOutputs: DefaultMaxOutputs}
	for _, opt := range opts {
		opt(q)
	}
	return q, nil
}

// String returns the expression as written.
func (q *Query) String() string { return q.expr }

// Run evaluates the expression against input and returns every value it
// yields, in order. input must hold the values encoding/json decodes (with
// or without UseNumber), as gojq requires.
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
	if v, found, done := q.firstNative(ctx, input); done {
		return v, found, nil
	}
	err = q.each(ctx, input, func(v any) bool {
		value, ok = v, true
		return false
	})
	return value, ok, err
}

// firstNative is First on the native path; done is false when the
// expression has none or it gave up, and gojq must run it. A context
// already ended is gojq's to report.
func (q *Query) firstNative(ctx context.Context, input any) (value any, found, done bool) {
	if q.native == nil {
		return nil, false, false
	}
	return q.firstNativeWith(ctx, new(budget), input)
}

// firstNativeWith is firstNative with b as the evaluation's budget (reset
// here): a batch passes one for all its expressions, one allocation.
func (q *Query) firstNativeWith(ctx context.Context, b *budget, input any) (value any, found, done bool) {
	if q.native == nil || ctx.Err() != nil {
		return nil, false, false
	}
	*b = budget{work: maxWork, elements: maxElements, calls: maxCalls}
	switch v, s := q.native(b, input); s {
	case nOne:
		if checkOutput(v) == nil {
			return v, true, true
		}
	case nEmpty:
		return nil, false, true
	}
	return nil, false, false
}

// Native reports whether First evaluates the expression without gojq
// whenever it can (native.go).
func (q *Query) Native() bool { return q.native != nil }

func (q *Query) each(ctx context.Context, input any, fn func(any) bool) error {
	runCtx, cancel := context.WithTimeoutCause(ctx, q.timeout, ErrTimeout)
	defer cancel()
	return q.iterate(ctx, runCtx, q.code.RunWithContext(runCtx, []any{input, newBudget()}), fn)
}

// iterate hands fn the values of a run of q's code under runCtx, which
// ends at q's deadline or a shared one (Deadline).
func (q *Query) iterate(ctx, runCtx context.Context, iter gojq.Iter, fn func(any) bool) error {
	n := 0
	for {
		v, more := iter.Next()
		if !more {
			return nil
		}
		if err, isErr := v.(error); isErr {
			return q.runError(ctx, runCtx, err)
		}
		n++
		if n > q.maxOutputs {
			return &Error{Expr: q.expr, Phase: "run", Err: fmt.Errorf("%w: more than %d values", ErrTooManyOutputs, q.maxOutputs)}
		}
		// The caller encodes what it gets (to JSON, for Port): a value too
		// large or too deeply nested to walk safely stops here.
		if err := checkOutput(v); err != nil {
			return &Error{Expr: q.expr, Phase: "run", Err: err}
		}
		if !fn(v) {
			return nil
		}
	}
}

func (q *Query) runError(ctx, runCtx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return &Error{Expr: q.expr, Phase: "run", Err: ctxErr}
		}
		if errors.Is(context.Cause(runCtx), ErrTimeout) {
			return &Error{Expr: q.expr, Phase: "run", Err: fmt.Errorf("%w (deadline %s)", ErrTimeout, q.timeout)}
		}
	}
	var halt *gojq.HaltError
	if errors.As(err, &halt) {
		// halt and halt_error would end a jq program; here they can only fail
		// this one evaluation.
		return &Error{Expr: q.expr, Phase: "run", Err: fmt.Errorf("halt is not allowed in mappings: %w", boundedError{err})}
	}
	return &Error{Expr: q.expr, Phase: "run", Err: boundedError{err}}
}
