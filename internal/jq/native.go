package jq

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// The native path. Most mapping expressions are a path (.Arn,
// .EphemeralStorage.Size), a string built from paths ("…?arn=" + .Arn), a
// split and an index, an if on null, or .Tags | map({(.Key): .Value}) | add.
// Starting gojq's VM for each of them costs more than the work itself (an
// environment, a deadline, the budget variable), so Compile also builds,
// for the expressions made only of the constructs below, a tree of Go
// closures that computes the same value directly.
//
// The native path only ever answers when it is sure: it handles the values
// and constructs whose gojq semantics are plain (strings, null, booleans,
// arrays and objects as data; numbers only passed through), and anything
// else (a number to add, a type error, an input it does not know) makes it
// give up, and First then runs the expression in gojq as before. So an error
// is always gojq's own error with gojq's message, and a value is the value
// gojq would give: the differential tests (native_test.go) hold it to that.
// The sandbox's guards run at the same points as in the rewritten program,
// against a budget of the same size, so whatever gojq would refuse with
// ErrLimit the native path gives up on. Every construct here does work
// linear in its input, so it needs no deadline: a closure tree does not loop.

// nstate is how a native evaluation ended.
type nstate uint8

const (
	nOne   nstate = iota // one value
	nEmpty               // no value (empty, select false)
	nGive                // give up: gojq must evaluate it
)

// nfunc evaluates an expression natively against v. Every construct of the
// subset yields at most one value, so a value and a state are enough.
type nfunc func(b *budget, v any) (any, nstate)

// nativeOf builds the native evaluator of a parsed expression, or nil when
// the expression uses anything outside the subset. It reads the tree and
// keeps none of it, so gojq may rewrite it afterwards.
func nativeOf(q *gojq.Query) nfunc { return nativeQuery(q) }

func nativeQuery(q *gojq.Query) nfunc {
	if q == nil || q.Meta != nil || len(q.Imports) > 0 || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 {
		return nil
	}
	if q.Term != nil {
		return nativeTerm(q.Term)
	}
	l, r := nativeQuery(q.Left), nativeQuery(q.Right)
	if l == nil || r == nil {
		return nil
	}
	switch q.Op {
	case gojq.OpPipe:
		// gojq v0.12.20 miscompiles an if (and, or) piped into what
		// ignores its input, in some places: {a: (true or false | 1)} fails
		// with "expected a string for object key but got: boolean (true)",
		// select(.a | {} or .b | "x") yields true. An if piped on is rare in
		// mappings (the if comes last: .Role | if . == null …), so all of
		// them are left to gojq.
		if hasIf(q.Left) {
			return nil
		}
		return func(b *budget, v any) (any, nstate) {
			x, s := l(b, v)
			if s != nOne {
				return nil, s
			}
			return r(b, x)
		}
	case gojq.OpAlt:
		// a // b: a's value when truthy, else b. An error of a (which jq
		// would suppress) gives up here, so gojq decides.
		return func(b *budget, v any) (any, nstate) {
			x, s := l(b, v)
			switch {
			case s == nGive:
				return nil, nGive
			case s == nOne && truthy(x):
				return x, nOne
			}
			return r(b, v)
		}
	case gojq.OpAnd, gojq.OpOr:
		and := q.Op == gojq.OpAnd
		return func(b *budget, v any) (any, nstate) {
			x, s := l(b, v)
			if s != nOne {
				return nil, s
			}
			if truthy(x) != and { // false and …, true or …
				return !and, nOne
			}
			y, s := r(b, v)
			if s != nOne {
				return nil, s
			}
			return truthy(y), nOne
		}
	case gojq.OpEq, gojq.OpNe, gojq.OpLt, gojq.OpLe, gojq.OpGt, gojq.OpGe:
		op := q.Op
		return binary(l, r, func(b *budget, x, y any) (any, nstate) {
			if chargeCompare(b, x, y) != nil {
				return nil, nGive
			}
			c := gojq.Compare(x, y)
			switch op {
			case gojq.OpEq:
				return c == 0, nOne
			case gojq.OpNe:
				return c != 0, nOne
			case gojq.OpLt:
				return c < 0, nOne
			case gojq.OpLe:
				return c <= 0, nOne
			case gojq.OpGt:
				return c > 0, nOne
			}
			return c >= 0, nOne
		})
	case gojq.OpAdd:
		guard := opGuards[gojq.OpAdd]
		return binary(l, r, func(b *budget, x, y any) (any, nstate) {
			if guard(b, x, y) != nil {
				return nil, nGive
			}
			return add2(x, y)
		})
	}
	return nil
}

// binary evaluates both operands against the same input, then op. With one
// value each, the order jq enumerates them in does not matter; an operand
// with no value gives up, since whether jq then fails on the other one
// depends on that order.
func binary(l, r nfunc, op func(b *budget, x, y any) (any, nstate)) nfunc {
	return func(b *budget, v any) (any, nstate) {
		x, s := l(b, v)
		if s != nOne {
			return nil, nGive
		}
		y, s := r(b, v)
		if s != nOne {
			return nil, nGive
		}
		return op(b, x, y)
	}
}

// add2 is jq's + for strings and null; everything else is gojq's to do
// (gojq reads a json.Number operand as a number first, for one).
func add2(x, y any) (any, nstate) {
	switch x := x.(type) {
	case nil:
		switch y.(type) {
		case nil, string:
			return y, nOne
		}
	case string:
		switch y := y.(type) {
		case nil:
			return x, nOne
		case string:
			return x + y, nOne
		}
	}
	return nil, nGive
}

// truthy is jq's truth: everything but null and false.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}

func constant(c any) nfunc { return func(*budget, any) (any, nstate) { return c, nOne } }

func identity(_ *budget, v any) (any, nstate) { return v, nOne }

func nativeTerm(t *gojq.Term) nfunc {
	suffixes := t.SuffixList
	base := splitIndex(t)
	if base != nil {
		suffixes = suffixes[1:]
	} else if base = nativeBase(t); base == nil {
		return nil
	}
	if len(suffixes) > 0 && t.Type == gojq.TermTypeQuery && hasIf(t.Query) {
		return nil // (if … end)[0]: as an if piped on (nativeQuery)
	}
	for _, s := range suffixes {
		switch {
		case s.Index != nil:
			ix := nativeIndex(s.Index)
			if ix == nil {
				return nil
			}
			prev := base
			base = func(b *budget, v any) (any, nstate) {
				x, st := prev(b, v)
				if st != nOne {
					return nil, st
				}
				return ix(x)
			}
		case s.Optional:
			// x? differs from x only when x fails, and a failure gives up.
		default: // .[] and the like yield many values
			return nil
		}
	}
	return base
}

func nativeBase(t *gojq.Term) nfunc {
	switch t.Type {
	case gojq.TermTypeIdentity:
		return identity
	case gojq.TermTypeNull:
		return constant(nil)
	case gojq.TermTypeTrue:
		return constant(true)
	case gojq.TermTypeFalse:
		return constant(false)
	case gojq.TermTypeIndex:
		ix := nativeIndex(t.Index)
		if ix == nil {
			return nil
		}
		return func(_ *budget, v any) (any, nstate) { return ix(v) }
	case gojq.TermTypeNumber:
		if n, ok := smallInt(t.Number); ok {
			return constant(n)
		}
	case gojq.TermTypeUnary:
		if t.Unary.Op == gojq.OpSub && t.Unary.Term.Type == gojq.TermTypeNumber && len(t.Unary.Term.SuffixList) == 0 {
			if n, ok := smallInt(t.Unary.Term.Number); ok {
				return constant(-n)
			}
		}
	case gojq.TermTypeString:
		return nativeString(t.Str)
	case gojq.TermTypeArray:
		if t.Array.Query == nil {
			// A new array each time: the caller may keep it.
			return func(*budget, any) (any, nstate) { return []any{}, nOne }
		}
		f := nativeQuery(t.Array.Query)
		if f == nil {
			return nil
		}
		return func(b *budget, v any) (any, nstate) {
			x, s := f(b, v)
			switch s {
			case nGive:
				return nil, nGive
			case nEmpty:
				return []any{}, nOne
			}
			if !elem(b) {
				return nil, nGive
			}
			return []any{x}, nOne
		}
	case gojq.TermTypeObject:
		return nativeObject(t.Object)
	case gojq.TermTypeIf:
		return nativeIf(t.If)
	case gojq.TermTypeTry:
		// try f differs from f only when f fails, and a failure gives up.
		return nativeQuery(t.Try.Body)
	case gojq.TermTypeQuery:
		return nativeQuery(t.Query)
	case gojq.TermTypeFunc:
		return nativeCall(t.Func)
	}
	return nil
}

// smallInt reads a number literal gojq reads as an int of the same value.
func smallInt(lit string) (int, bool) {
	if len(lit) == 0 || len(lit) > 15 || (len(lit) > 1 && lit[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] < '0' || lit[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(lit)
	return n, err == nil
}

// elem is the #elem guard: one more array element collected.
func elem(b *budget) bool {
	b.elements--
	return b.elements >= 0
}

// nativeIndex reads .name, ."name", .["name"] or .[n] with a literal key:
// an object's member or an array's element, null on null. Slices and
// computed keys are gojq's.
func nativeIndex(x *gojq.Index) func(v any) (any, nstate) {
	if x.IsSlice || x.End != nil {
		return nil
	}
	var key string
	switch {
	case x.Name != "":
		key = x.Name
	case x.Str != nil && x.Str.Queries == nil:
		key = x.Str.Str
	case x.Start != nil && x.Start.Term != nil && len(x.Start.Term.SuffixList) == 0 &&
		(x.Start.Term.Type == gojq.TermTypeString || x.Start.Term.Type == gojq.TermTypeNumber || x.Start.Term.Type == gojq.TermTypeUnary) &&
		(x.Start.Term.Str == nil || x.Start.Term.Str.Queries == nil):
		// A literal: evaluating it needs no input and no budget.
		k := nativeTerm(x.Start.Term)
		if k == nil {
			return nil
		}
		switch lit, _ := k(nil, nil); lit := lit.(type) {
		case string:
			key = lit
		case int:
			return func(v any) (any, nstate) {
				switch v := v.(type) {
				case nil:
					return nil, nOne
				case []any:
					i := lit
					if i < 0 {
						i += len(v)
					}
					if i < 0 || i >= len(v) {
						return nil, nOne
					}
					return v[i], nOne
				}
				return nil, nGive
			}
		default:
			return nil
		}
	default:
		return nil
	}
	return func(v any) (any, nstate) {
		switch v := v.(type) {
		case nil:
			return nil, nOne
		case map[string]any:
			return v[key], nOne
		}
		return nil, nGive
	}
}

// nativeString is a string literal, or an interpolation whose values are
// strings, null, booleans or ints (what tostring writes plainly).
func nativeString(s *gojq.String) nfunc {
	if s.Queries == nil {
		return constant(s.Str)
	}
	parts := make([]nfunc, len(s.Queries))
	literal := make([]bool, len(s.Queries))
	for i, q := range s.Queries {
		if q.Term != nil && q.Term.Type == gojq.TermTypeString && q.Term.Str.Queries == nil && len(q.Term.SuffixList) == 0 {
			parts[i], literal[i] = constant(q.Term.Str.Str), true
			continue
		}
		if parts[i] = nativeQuery(q); parts[i] == nil {
			return nil
		}
	}
	walk := prefixGuards["#walk"]
	return func(b *budget, v any) (any, nstate) {
		var sb strings.Builder
		for i, p := range parts {
			x, st := p(b, v)
			if st != nOne { // the parts are joined with +: as for binary
				return nil, nGive
			}
			if literal[i] {
				sb.WriteString(x.(string))
				continue
			}
			if walk(b, x) != nil {
				return nil, nGive
			}
			str, ok := plainString(x)
			if !ok {
				return nil, nGive
			}
			sb.WriteString(str)
		}
		return sb.String(), nOne
	}
}

// plainString is tostring for the values whose JSON text is plain.
func plainString(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	}
	return "", false
}

// hasIf reports whether q holds an if (or an and, an or: gojq compiles
// them to one) anywhere.
func hasIf(q *gojq.Query) bool {
	if q == nil {
		return false
	}
	if q.Op == gojq.OpAnd || q.Op == gojq.OpOr {
		return true
	}
	if q.Term != nil {
		// The terms of the subset; anything else has no native path anyway.
		t := q.Term
		switch {
		case t.Type == gojq.TermTypeIf:
			return true
		case t.Type == gojq.TermTypeQuery && hasIf(t.Query):
			return true
		case t.Type == gojq.TermTypeTry && hasIf(t.Try.Body):
			return true
		case t.Type == gojq.TermTypeArray && hasIf(t.Array.Query):
			return true
		case t.Type == gojq.TermTypeFunc:
			for _, a := range t.Func.Args {
				if hasIf(a) {
					return true
				}
			}
		case t.Type == gojq.TermTypeObject:
			for _, kv := range t.Object.KeyVals {
				if hasIf(kv.KeyQuery) || hasIf(kv.Val) {
					return true
				}
			}
		case t.Type == gojq.TermTypeString && t.Str != nil:
			for _, p := range t.Str.Queries {
				if hasIf(p) {
					return true
				}
			}
		}
		return false
	}
	return hasIf(q.Left) || hasIf(q.Right)
}

func nativeObject(o *gojq.Object) nfunc {
	type kv struct {
		key  string // fixed key, or
		keyf nfunc  // computed key
		val  nfunc
	}
	kvs := make([]kv, 0, len(o.KeyVals))
	for _, e := range o.KeyVals {

		var k kv
		switch {
		case e.Key != "":
			if e.Key[0] == '$' {
				return nil
			}
			k.key = e.Key
			if e.Val == nil { // {name} is {name: .name}
				ix := nativeIndex(&gojq.Index{Name: e.Key})
				k.val = func(_ *budget, v any) (any, nstate) { return ix(v) }
			}
		case e.KeyString != nil && e.KeyString.Queries == nil:
			k.key = e.KeyString.Str
			if e.Val == nil {
				return nil
			}
		case e.KeyQuery != nil:
			if k.keyf = nativeQuery(e.KeyQuery); k.keyf == nil {
				return nil
			}
		default:
			return nil
		}
		if e.Val != nil {
			if k.val = nativeQuery(e.Val); k.val == nil {
				return nil
			}
		}
		kvs = append(kvs, k)
	}
	return func(b *budget, v any) (any, nstate) {
		m := make(map[string]any, len(kvs))
		for _, e := range kvs {
			key := e.key
			if e.keyf != nil {
				k, s := e.keyf(b, v)
				if s != nOne { // as for binary operators
					return nil, nGive
				}
				var ok bool
				if key, ok = k.(string); !ok {
					return nil, nGive
				}
			}
			x, s := e.val(b, v)
			if s != nOne {
				return nil, nGive
			}
			m[key] = x // a repeated key: the last one wins, as in gojq
		}
		return m, nOne
	}
}

func nativeIf(e *gojq.If) nfunc {
	type branch struct{ cond, then nfunc }
	var branches []branch
	add := func(c, t *gojq.Query) bool {
		cf, tf := nativeQuery(c), nativeQuery(t)
		branches = append(branches, branch{cf, tf})
		return cf != nil && tf != nil
	}
	if !add(e.Cond, e.Then) {
		return nil
	}
	for _, el := range e.Elif {
		if !add(el.Cond, el.Then) {
			return nil
		}
	}
	otherwise := nfunc(identity) // if … end without else is the input
	if e.Else != nil {
		if otherwise = nativeQuery(e.Else); otherwise == nil {
			return nil
		}
	}
	return func(b *budget, v any) (any, nstate) {
		for _, br := range branches {
			c, s := br.cond(b, v)
			if s != nOne {
				return nil, s
			}
			if truthy(c) {
				return br.then(b, v)
			}
		}
		return otherwise(b, v)
	}
}

// nativeCall covers the builtins mappings use most. None can be shadowed:
// an expression with definitions has no native path.
func nativeCall(f *gojq.Func) nfunc {
	args := make([]nfunc, len(f.Args))
	for i, a := range f.Args {
		if args[i] = nativeQuery(a); args[i] == nil {
			return nil
		}
	}
	switch key(f.Name, len(f.Args)) {
	case "empty/0":
		return func(*budget, any) (any, nstate) { return nil, nEmpty }
	case "not/0":
		return func(_ *budget, v any) (any, nstate) { return !truthy(v), nOne }
	case "select/1":
		cond := args[0]
		return func(b *budget, v any) (any, nstate) {
			c, s := cond(b, v)
			if s != nOne {
				return nil, s
			}
			if truthy(c) {
				return v, nOne
			}
			return nil, nEmpty
		}
	case "type/0":
		return func(_ *budget, v any) (any, nstate) {
			switch v.(type) {
			case nil, bool, string, int, float64, []any, map[string]any:
				return gojq.TypeOf(v), nOne
			}
			return nil, nGive
		}
	case "length/0":
		return func(_ *budget, v any) (any, nstate) {
			switch v := v.(type) {
			case nil:
				return 0, nOne
			case string:
				return utf8.RuneCountInString(v), nOne
			case []any:
				return len(v), nOne
			case map[string]any:
				return len(v), nOne
			}
			return nil, nGive
		}
	case "tostring/0":
		walk := prefixGuards["#walk"]
		return func(b *budget, v any) (any, nstate) {
			if walk(b, v) != nil {
				return nil, nGive
			}
			if s, ok := plainString(v); ok {
				return s, nOne
			}
			return nil, nGive
		}
	case "ascii_downcase/0", "ascii_upcase/0":
		from, to := rune('A'), rune('a'-'A')
		if f.Name == "ascii_upcase" {
			from, to = 'a', 'A'-'a'
		}
		return func(_ *budget, v any) (any, nstate) {
			s, ok := v.(string)
			if !ok {
				return nil, nGive
			}
			return strings.Map(func(r rune) rune {
				if from <= r && r <= from+25 {
					return r + to
				}
				return r
			}, s), nOne
		}
	case "startswith/1", "endswith/1", "ltrimstr/1", "rtrimstr/1":
		op := map[string]func(s, t string) any{
			"startswith": func(s, t string) any { return strings.HasPrefix(s, t) },
			"endswith":   func(s, t string) any { return strings.HasSuffix(s, t) },
			"ltrimstr":   func(s, t string) any { return strings.TrimPrefix(s, t) },
			"rtrimstr":   func(s, t string) any { return strings.TrimSuffix(s, t) },
		}[f.Name]
		return withArg(args[0], func(_ *budget, v, x any) (any, nstate) {
			s, ok1 := v.(string)
			t, ok2 := x.(string)
			if !ok1 || !ok2 {
				return nil, nGive
			}
			return op(s, t), nOne
		})
	case "split/1":
		return withArg(args[0], func(_ *budget, v, x any) (any, nstate) {
			s, ok1 := v.(string)
			t, ok2 := x.(string)
			if !ok1 || !ok2 || checkSplit(v, x) != nil {
				return nil, nGive
			}
			if s == "" {
				return []any{}, nOne
			}
			parts := strings.Split(s, t)
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nOne
		})
	case "map/1":
		fn := args[0]
		return func(b *budget, v any) (any, nstate) {
			xs, ok := v.([]any) // an object's values come in key order: gojq's
			if !ok {
				return nil, nGive
			}
			out := make([]any, 0, len(xs))
			for _, x := range xs {
				y, s := fn(b, x)
				switch s {
				case nGive:
					return nil, nGive
				case nEmpty:
					continue
				}
				if !elem(b) {
					return nil, nGive
				}
				out = append(out, y)
			}
			return out, nOne
		}
	case "add/0":
		walk := prefixGuards["#walk"]
		return func(b *budget, v any) (any, nstate) {
			xs, ok := v.([]any)
			if !ok || walk(b, v) != nil {
				return nil, nGive
			}
			return addAll(xs)
		}
	}
	return nil
}

// withArg evaluates a call's argument against the call's input, then op.
func withArg(arg nfunc, op func(b *budget, v, x any) (any, nstate)) nfunc {
	return func(b *budget, v any) (any, nstate) {
		x, s := arg(b, v)
		if s != nOne {
			return nil, s
		}
		return op(b, v, x)
	}
}

// addAll is add over an array whose non-null elements are all strings,
// all arrays or all objects (merged, later keys winning). Numbers and mixed
// types are gojq's.
func addAll(xs []any) (any, nstate) {
	var acc any
	var sb strings.Builder
	for _, x := range xs {
		switch x := x.(type) {
		case nil:
		case string:
			switch acc.(type) {
			case nil, *strings.Builder:
				sb.WriteString(x)
				acc = &sb
			default:
				return nil, nGive
			}
		case []any:
			switch a := acc.(type) {
			case nil:
				acc = append([]any{}, x...)
			case []any:
				acc = append(a, x...)
			default:
				return nil, nGive
			}
		case map[string]any:
			switch a := acc.(type) {
			case nil:
				m := make(map[string]any, len(x))
				for k, e := range x {
					m[k] = e
				}
				acc = m
			case map[string]any:
				for k, e := range x {
					a[k] = e
				}
			default:
				return nil, nGive
			}
		default:
			return nil, nGive
		}
	}
	if acc == &sb {
		return sb.String(), nOne
	}
	return acc, nOne
}

// splitIndex is split("sep")[n] (the published configs' .Arn |
// split(":")[3]) in one step: the n-th part without the array of them all.
// nil when t is not that.
func splitIndex(t *gojq.Term) nfunc {
	if t.Type != gojq.TermTypeFunc || t.Func.Name != "split" || len(t.Func.Args) != 1 || len(t.SuffixList) == 0 {
		return nil
	}
	arg, suffix := t.Func.Args[0], t.SuffixList[0].Index
	if arg.Term == nil || arg.Term.Type != gojq.TermTypeString || arg.Term.Str.Queries != nil || len(arg.Term.SuffixList) > 0 ||
		arg.Term.Str.Str == "" || suffix == nil || len(arg.FuncDefs) > 0 {
		return nil
	}
	ix := nativeIndex(suffix)
	if ix == nil {
		return nil
	}
	if suffix.Name != "" || suffix.Str != nil {
		return nil // a key: split gives an array, gojq fails
	}
	lit, _ := nativeTerm(suffix.Start.Term)(nil, nil) // a literal (nativeIndex)
	n, isInt := lit.(int)
	if !isInt {
		return nil
	}
	sep := arg.Term.Str.Str
	return func(_ *budget, v any) (any, nstate) {
		s, ok := v.(string)
		if !ok || checkSplit(v, sep) != nil {
			return nil, nGive
		}
		if s == "" { // split gives []
			return nil, nOne
		}
		i := n
		if i < 0 {
			i += strings.Count(s, sep) + 1
			if i < 0 {
				return nil, nOne
			}
		}
		for ; i > 0; i-- {
			j := strings.Index(s, sep)
			if j < 0 {
				return nil, nOne
			}
			s = s[j+len(sep):]
		}
		if j := strings.Index(s, sep); j >= 0 {
			s = s[:j]
		}
		return s, nOne
	}
}
