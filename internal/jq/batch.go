package jq

import (
	"context"
	"strconv"
	"time"

	"github.com/itchyny/gojq"
)

// Deadline is one deadline shared by the evaluations of one unit of work
// (a resource's Map call), instead of one per evaluation: a timer per
// expression cost as much as evaluating it. It starts at the first
// evaluation that runs gojq (the native path needs none). The zero value
// is ready to use; Stop releases the timer. Not safe for concurrent use.
type Deadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (d *Deadline) context(parent context.Context, timeout time.Duration) context.Context {
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithTimeoutCause(parent, timeout, ErrTimeout)
	}
	return d.ctx
}

// Stop releases the deadline's timer.
func (d *Deadline) Stop() {
	if d.cancel != nil {
		d.cancel()
	}
}

// FirstWithin is First under a shared deadline: the native path when it
// answers, else gojq within dl. When gojq fails, the expression is
// evaluated again alone, with First and its own deadline, so that an error
// is the one First reports (a shared deadline may have been spent by other
// expressions).
func (q *Query) FirstWithin(ctx context.Context, dl *Deadline, input any) (value any, ok bool, err error) {
	if v, found, done := q.firstNative(ctx, input); done {
		return v, found, nil
	}
	runCtx := dl.context(ctx, q.timeout)
	failed := q.iterate(ctx, runCtx, q.code.RunWithContext(runCtx, []any{input, newBudget()}), func(v any) bool {
		value, ok = v, true
		return false
	})
	if failed == nil {
		return value, ok, nil
	}
	return q.First(ctx, input)
}

// Value is the first value of one expression, or none (Found false).
type Value struct {
	V     any
	Found bool
}

// Batch evaluates several expressions against one input, as one mapping
// does for its identifier, title, properties and relations. Each is taken
// on the native path where it answers; those left run in gojq as one
// program, which yields [first(e)] for each of them in one run: one VM
// environment, one budget and one deadline for them all, where evaluating
// them one by one paid each for every expression.
//
// Eval reports false when any evaluation failed (an error, a bound of the
// sandbox, the deadline): the caller then evaluates the expressions one by
// one with First, to learn which failed and why with First's own error.
// A success gives every expression exactly what First gives it: the same
// gojq code runs, and the shared budget and output check can only make the
// program fail where each expression alone would not, never the reverse.
type Batch struct {
	queries []*Query
	// program runs on [input, budget, mask] the program over every
	// expression (a native one may give up on an input): slot i is
	// [first(e_i)] when mask[i] is true, null otherwise. Its code is nil
	// when the expressions cannot share a program (one has module
	// directives); Eval then fails whenever gojq is needed.
	program Query
}

// NewBatch prepares qs (none nil) for Eval.
func NewBatch(qs []*Query) *Batch {
	b := &Batch{queries: qs}
	if len(qs) == 0 {
		return b
	}
	b.program = Query{expr: "the batch of " + strconv.Itoa(len(qs)) + " expressions", timeout: qs[0].timeout, maxOutputs: 1}
	slots := make([]*gojq.Query, len(qs))
	for i, q := range qs {
		// Parsed anew: Compile's tree was rewritten and compiled, and
		// gojq's compiler edits the trees it compiles.
		parsed, err := gojq.Parse(q.expr)
		if err != nil || parsed.Meta != nil || len(parsed.Imports) > 0 || rewrite(parsed) != nil {
			return b
		}
		// if $#mask[i] then [first(e_i)] else null end
		slots[i] = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIf, If: &gojq.If{
			Cond: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: maskVar},
				SuffixList: []*gojq.Suffix{{Index: &gojq.Index{Start: number(i)}}}}},
			Then: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeArray, Array: &gojq.Array{Query: call("first", parsed)}}},
			Else: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNull}},
		}}}
	}
	list := slots[0]
	for _, s := range slots[1:] {
		list = &gojq.Query{Left: list, Op: gojq.OpComma, Right: s}
	}
	// .[1] as $#budget | .[2] as $#mask | .[0] | [slot_0, slot_1, …]
	program := &gojq.Query{Left: element(1), Patterns: []*gojq.Pattern{{Name: budgetVar}}, Op: gojq.OpPipe,
		Right: &gojq.Query{Left: element(2), Patterns: []*gojq.Pattern{{Name: maskVar}}, Op: gojq.OpPipe,
			Right: pipe(element(0), &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeArray, Array: &gojq.Array{Query: list}}})}}
	code, err := gojq.Compile(program, guardOptions...)
	if err != nil {
		return b
	}
	b.program.code = code
	return b
}

// maskVar names, like budgetVar, a variable no jq text can reach.
const maskVar = "$#mask"

func number(i int) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNumber, Number: strconv.Itoa(i)}}
}

// Len is how many expressions the batch evaluates.
func (b *Batch) Len() int { return len(b.queries) }

// Eval evaluates every expression against input into out (len Len()),
// out[i] for the i-th expression, within dl. false: some evaluation failed,
// and out is not to be used.
func (b *Batch) Eval(ctx context.Context, dl *Deadline, input any, out []Value) bool {
	var mask []any
	var nb budget
	for i, q := range b.queries {
		if v, found, done := q.firstNativeWith(ctx, &nb, input); done {
			out[i] = Value{V: v, Found: found}
			continue
		}
		if mask == nil {
			mask = make([]any, len(b.queries))
			for j := range mask {
				mask[j] = false
			}
		}
		mask[i] = true
	}
	if mask == nil {
		return true
	}
	if b.program.code == nil {
		return false
	}
	runCtx := dl.context(ctx, b.program.timeout)
	var slots []any
	err := b.program.iterate(ctx, runCtx, b.program.code.RunWithContext(runCtx, []any{input, newBudget(), mask}), func(v any) bool {
		slots, _ = v.([]any)
		return false
	})
	if err != nil || len(slots) != len(b.queries) {
		return false
	}
	for i, s := range slots {
		if mask[i] == true {
			first, _ := s.([]any)
			if len(first) == 0 {
				out[i] = Value{}
			} else {
				out[i] = Value{V: first[0], Found: true}
			}
		}
	}
	return true
}
