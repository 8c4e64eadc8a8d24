package jq

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Why guards, and only these. gojq checks the deadline between VM
// instructions, so whatever the VM does step by step (loops, recursion,
// generators, [range(1e12)] filling an array) ends at the deadline. What
// does not end is one Go call that is long by itself: walking a value built
// by sharing ([., .] nested 60 times is 2^60 leaves over 60 arrays) in tojson,
// sort or ==, repeating a string a billion times, multiplying huge integers,
// allocating an array for setpath([5e8]; 1). Each guard measures what such a
// call is handed, counting shared subtrees once per path that reaches them,
// and fails the evaluation with ErrLimit before the call when it is over the
// bound. A measurement stops as soon as it passes the bound, so it costs at
// most the bound, however large the value.
const (
	// maxWeight bounds one value handed to a guarded operation, or produced
	// by one, in units: one per JSON node and per 8 bytes of string (16 MiB
	// of string at most) and per 64 bits of a big integer.
	maxWeight = 1 << 21
	// maxWork bounds what the guarded operations of one evaluation walk in
	// all, in the same units: about a tenth of a second of walking.
	maxWork = 1 << 24
	// maxElements bounds the array elements one evaluation collects with
	// [...] or map(f): 4M slots are 64 MiB.
	maxElements = 1 << 22
	// maxCalls bounds the calls of the expression's own functions and the
	// steps of the builtins that recurse (recurse, repeat, until, while) in
	// one evaluation: each holds a frame until the recursion returns.
	maxCalls = 1 << 17
	// maxDepth bounds nesting: gojq's walkers recurse, and so does the
	// caller's JSON encoding of an output.
	maxDepth = 100_000
	// maxIndex bounds an array index used to read or write: gojq allocates
	// an array up to the index it writes.
	maxIndex = maxElements
	// maxBigBits bounds the size of a product of big integers: beyond it a
	// multiplication takes long in one call.
	maxBigBits = 1 << 20
)

// budgetVar is the variable through which every guard reaches the budget of
// its evaluation. Guards and their variables are named with '#', which starts
// a comment in jq: no expression can call, shadow or read them.
const budgetVar = "$#budget"

type budget struct {
	work, elements, calls int64 // what is left
}

func newBudget() *budget { return &budget{work: maxWork, elements: maxElements, calls: maxCalls} }

func (b *budget) call() error {
	if b.calls--; b.calls < 0 {
		return limitError("more than %d function calls or recursion steps", maxCalls)
	}
	return nil
}

func limitError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}

// weigh measures v as a tree, stopping once the count passes limit.
func weigh(v any, limit int64) (int64, error) { return measure(v, limit, nil) }

// measure is weigh that also counts the nodes at each depth in levels.
func measure(v any, limit int64, levels *[]int64) (int64, error) {
	var n int64
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > maxDepth {
			return limitError("value nested deeper than %d levels", maxDepth)
		}
		n++
		if levels != nil {
			if len(*levels) <= depth {
				*levels = append(*levels, 0)
			}
			(*levels)[depth]++
		}
		switch v := v.(type) {
		case string:
			n += int64(len(v)) / 8
		case *big.Int:
			n += int64(v.BitLen()) / 64
		case []any:
			for _, e := range v {
				if n > limit {
					return nil
				}
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, e := range v {
				if n > limit {
					return nil
				}
				n += int64(len(k)) / 8
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk(v, 0)
	return n, err
}

// charge checks the size of each value handed to one call (the call's
// result, a string or a copy, is about as large) and deducts it from the
// evaluation's work.
func (b *budget) charge(what string, vs ...any) error {
	for _, v := range vs {
		n, err := weigh(v, min(b.work, maxWeight))
		if err != nil {
			return err
		}
		if err := fits(what, n); err != nil {
			return err
		}
		if err := b.spend(what, n); err != nil {
			return err
		}
	}
	return nil
}

func (b *budget) spend(what string, n int64) error {
	if n > b.work {
		return limitError("%s walks more than the %d units left of the evaluation's work", what, b.work)
	}
	b.work -= n
	return nil
}

// fits checks the size of what one call is about to produce.
func fits(what string, n int64) error {
	if n > maxWeight || n < 0 {
		return limitError("%s would be too large (%d units, at most %d)", what, n, maxWeight)
	}
	return nil
}

func checkOutput(v any) error {
	n, err := weigh(v, maxWeight)
	if err != nil {
		return err
	}
	return fits("an output", n)
}

// boundedError keeps gojq's error message unless formatting it would encode
// a large value (error(v) encodes v whole): then v is previewed.
type boundedError struct{ err error }

func (e boundedError) Error() string {
	var ve gojq.ValueError
	if errors.As(e.err, &ve) {
		if v := ve.Value(); v != nil {
			if _, isString := v.(string); !isString {
				if n, err := weigh(v, 1<<10); err != nil || n > 1<<10 {
					return "error: " + gojq.Preview(v)
				}
			}
		}
	}
	msg := e.err.Error()
	if len(msg) > 1<<12 {
		msg = msg[:1<<12] + "…"
	}
	return msg
}

func (e boundedError) Unwrap() error { return e.err }

// A guard is a gojq function named with '#'. Its last argument is the
// budget; it returns its input (prefix guards, placed before a call) or its
// first argument (argument guards, wrapped around an argument in place, so
// the order in which jq enumerates arguments is unchanged), or an error.
type guardFunc func(b *budget, v any, arg any) error

// Prefix guards see the call's input.
var prefixGuards = map[string]func(b *budget, v any) error{
	"#walk": func(b *budget, v any) error { return b.charge("this builtin", v) },
	// |= may walk the whole value (when it deletes); it is measured, not
	// charged, as most updates do not: a document of honest size passes.
	"#modify": func(b *budget, v any) error {
		n, err := weigh(v, maxWeight)
		if err != nil {
			return err
		}
		return fits("the value updated with |=", n)
	},
	"#explode": func(b *budget, v any) error {
		if s, ok := v.(string); ok {
			return fits("explode", int64(len(s)))
		}
		return nil
	},
	"#fromjson": func(b *budget, v any) error {
		if s, ok := v.(string); ok {
			return fits("fromjson", int64(len(s)))
		}
		return nil
	},
	"#transpose": func(b *budget, v any) error {
		xs, _ := v.([]any)
		var longest int
		for _, x := range xs {
			if row, ok := x.([]any); ok {
				longest = max(longest, len(row))
			}
		}
		return fits("transpose", int64(len(xs))*int64(longest))
	},
}

// Argument guards see the call's input and one argument's value.
var argGuards = map[string]guardFunc{
	// A value a builtin's body walks (a sort key, a value IN compares).
	"#walkarg": func(b *budget, _ any, x any) error { return b.charge("this builtin", x) },
	// An element of an array being collected.
	"#elem": func(b *budget, _ any, _ any) error {
		if b.elements--; b.elements < 0 {
			return limitError("more than %d array elements collected", maxElements)
		}
		return nil
	},
	// A step of a recursing builtin.
	"#step": func(b *budget, _ any, _ any) error { return b.call() },
	// contains, inside, indices: every part of one side against the other.
	"#product": func(b *budget, v any, x any) error {
		if s, ok := v.(string); ok {
			// indices of a string: up to a number per character.
			return fits("this builtin", int64(len(s)))
		}
		return chargeProduct(b, "this builtin", v, x)
	},
	"#join": func(b *budget, v any, sep any) error {
		xs, _ := v.([]any)
		s, _ := sep.(string)
		if err := fits("join", int64(len(xs))*(1+int64(len(s))/8)); err != nil {
			return err
		}
		return b.charge("join", v)
	},
	"#split": func(b *budget, v any, sep any) error { return checkSplit(v, sep) },
	// A regular expression runs over the input once, but a global match
	// builds an object per match: up to one per character.
	"#regex": func(b *budget, v any, _ any) error {
		if s, ok := v.(string); ok {
			return fits("a regular expression match", 8*(int64(len(s))+1))
		}
		return nil
	},
	"#strftime": func(b *budget, _ any, f any) error {
		if s, ok := f.(string); ok {
			return fits("strftime", 4*int64(len(s)))
		}
		return nil
	},
	"#index":  func(b *budget, _ any, k any) error { return checkKey(k) },
	"#windex": func(b *budget, _ any, k any) error { return checkIndex(b, k) },
	// fromstream's events are [path, leaf]: the path is written with setpath.
	"#event": func(b *budget, _ any, e any) error {
		if ev, ok := e.([]any); ok && len(ev) > 0 {
			return checkPath(b, ev[0])
		}
		return nil
	},
	"#path": func(b *budget, _ any, p any) error { return checkPath(b, p) },
}

func checkPath(b *budget, p any) error {
	ps, _ := p.([]any)
	for _, k := range ps {
		if err := checkIndex(b, k); err != nil {
			return err
		}
	}
	return b.charge("a path", p)
}

// chargeProduct charges what matching every part of l against every part
// of r costs (contains, indices, array subtraction): they compare elements
// pairwise, level by level, so no pair of nodes at one depth is compared
// twice. A chain nested 10,000 deep is then 10,000 comparisons, not 10^8.
func chargeProduct(b *budget, what string, l, r any) error {
	var ll, rl []int64
	for _, side := range []struct {
		v      any
		levels *[]int64
	}{{l, &ll}, {r, &rl}} {
		n, err := measure(side.v, min(b.work, maxWeight), side.levels)
		if err == nil {
			err = fits(what, n)
		}
		if err != nil {
			return err
		}
	}
	var cost int64
	for d := 0; d < len(ll) && d < len(rl); d++ {
		if rl[d] > 0 && ll[d] > (math.MaxInt64-cost)/rl[d] {
			return b.spend(what, math.MaxInt64)
		}
		cost += ll[d] * rl[d]
	}
	return b.spend(what, cost)
}

func checkSplit(v, sep any) error {
	s, ok1 := v.(string)
	t, ok2 := sep.(string)
	if !ok1 || !ok2 {
		return nil
	}
	n := int64(utf8.RuneCountInString(s))
	if t != "" {
		n = int64(strings.Count(s, t)) + 1
	}
	return fits("split", n+int64(len(s))/8)
}

// gojqMaxIndex is where gojq itself refuses to write an array index (with
// its own error, which the guard leaves to it).
const gojqMaxIndex = 0x20000000

// checkIndex guards a key used to write: gojq allocates the array up to it.
func checkIndex(b *budget, k any) error {
	var i float64
	switch k := k.(type) {
	case int:
		i = float64(k)
	case float64:
		i = math.Floor(k)
	case map[string]any: // a slice: gojq clamps it to the array
		return nil
	default:
		return checkKey(k)
	}
	if i >= maxIndex && i < gojqMaxIndex {
		return limitError("array index %v is too large to write (at most %d)", k, maxIndex-1)
	}
	return nil
}

// checkKey guards a key used to read: .[array] searches the indexed array
// for the subarray, which the guard cannot see (it runs on the outer input),
// so the key must be small to keep that to a few comparisons per element.
func checkKey(k any) error {
	if k, ok := k.([]any); ok {
		if n, err := weigh(k, 1<<10); err != nil || n > 1<<10 {
			return limitError("an array used as an index must be small")
		}
	}
	return nil
}

// Binary operator guards see both operands, which they return as an array
// for the rewritten expression to bind and apply the real operator to.
var opGuards = map[gojq.Operator]func(b *budget, l, r any) error{
	gojq.OpAdd: func(b *budget, l, r any) error {
		switch l := l.(type) {
		case string:
			if r, ok := r.(string); ok {
				return fits("+", 1+int64(len(l)+len(r))/8)
			}
		case []any:
			if r, ok := r.([]any); ok {
				return fits("+", int64(len(l)+len(r)))
			}
		case map[string]any:
			if r, ok := r.(map[string]any); ok {
				return fits("+", int64(len(l)+len(r)))
			}
		}
		return nil
	},
	gojq.OpSub: func(b *budget, l, r any) error {
		if _, ok := l.([]any); ok {
			return chargeProduct(b, "-", l, r)
		}
		return nil
	},
	gojq.OpMul: func(b *budget, l, r any) error {
		if _, ok := r.(string); ok {
			l, r = r, l
		}
		switch l := l.(type) {
		case string:
			// From MaxInt32 bytes on, gojq refuses with its own error.
			if n, ok := toFloat(r); ok && n > 0 {
				if size := math.Min(n, math.MaxInt32) * float64(len(l)); size < math.MaxInt32 {
					return fits("string repetition", 1+int64(size)/8)
				}
			}
		case map[string]any:
			return b.charge("object multiplication", l, r)
		case *big.Int:
			if n, ok := bits(r); ok && n+l.BitLen() > maxBigBits {
				return limitError("integer product of %d bits is too large", n+l.BitLen())
			}
		case int:
			if r, ok := r.(*big.Int); ok && r.BitLen()+64 > maxBigBits {
				return limitError("integer product of %d bits is too large", r.BitLen()+64)
			}
		}
		return nil
	},
	gojq.OpDiv: func(b *budget, l, r any) error { return checkSplit(l, r) },
	gojq.OpEq:  chargeCompare, gojq.OpNe: chargeCompare,
	gojq.OpLt: chargeCompare, gojq.OpLe: chargeCompare,
	gojq.OpGt: chargeCompare, gojq.OpGe: chargeCompare,
}

// chargeCompare charges the smaller operand: a comparison walks both sides
// together and stops where one ends or they differ.
func chargeCompare(b *budget, l, r any) error {
	wl, err := weigh(l, min(b.work, maxWeight))
	if err != nil {
		return err
	}
	wr, err := weigh(r, min(wl, b.work))
	if err == nil {
		err = fits("a comparison", min(wl, wr))
	}
	if err != nil {
		return err
	}
	return b.spend("a comparison", min(wl, wr))
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	}
	return 0, false
}

func bits(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return 64, true
	case *big.Int:
		return v.BitLen(), true
	}
	return 0, false
}

func budgetOf(args []any) (*budget, error) {
	if len(args) > 0 {
		if b, ok := args[len(args)-1].(*budget); ok {
			return b, nil
		}
	}
	return nil, errors.New("jq sandbox guard called without its budget")
}

// guardOptions registers the guards with gojq.
var guardOptions = func() []gojq.CompilerOption {
	var opts []gojq.CompilerOption
	// guarded registers a guard: run check, then return what result says.
	guarded := func(name string, arity int, check func(b *budget, v any, args []any) error, result func(v any, args []any) any) {
		opts = append(opts, gojq.WithFunction(name, arity, arity, func(v any, args []any) any {
			b, err := budgetOf(args)
			if err == nil {
				err = check(b, v, args)
			}
			if err != nil {
				return err
			}
			return result(v, args)
		}))
	}
	for name, g := range prefixGuards {
		guarded(name, 1, func(b *budget, v any, _ []any) error { return g(b, v) }, func(v any, _ []any) any { return v })
	}
	for name, g := range argGuards {
		guarded(name, 2, func(b *budget, v any, args []any) error { return g(b, v, args[0]) }, func(_ any, args []any) any { return args[0] })
	}
	for op, g := range opGuards {
		guarded(opGuardName(op), 3, func(b *budget, _ any, args []any) error { return g(b, args[0], args[1]) },
			func(_ any, args []any) any { return []any{args[0], args[1]} })
	}
	// #call is a condition: true, or the error.
	guarded("#call", 1, func(b *budget, _ any, _ []any) error { return b.call() }, func(any, []any) any { return true })
	// builtins lists custom functions too: the guards stay out of sight.
	opts = append(opts, gojq.WithFunction("#hide", 0, 0, func(v any, _ []any) any {
		names, _ := v.([]any)
		out := make([]any, 0, len(names))
		for _, n := range names {
			if s, ok := n.(string); !ok || !strings.HasPrefix(s, "#") {
				out = append(out, n)
			}
		}
		return out
	}))
	return opts
}()

func opGuardName(op gojq.Operator) string { return "#op" + strconv.Itoa(int(op)) }
