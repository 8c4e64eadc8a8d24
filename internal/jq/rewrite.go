package jq

import (
	"strconv"

	"github.com/itchyny/gojq"
)

// budgetVar is the variable through which every guard reaches the budget of
// the evaluation it runs in. Guards and their variables are named with '#',
// which starts a comment in jq: no expression can call, shadow or read them.
const budgetVar = "$#budget"

// guardedCall says how to guard a call of a gojq builtin: which guard checks
// its arguments and input first, in which order the builtin evaluates its
// value arguments, and which arguments are filters the guard cannot see.
type guardedCall struct {
	guard string
	// firstArgOuter is true for builtins defined in jq with $params
	// (def f($a; $b)), which bind their first argument outermost; gojq's
	// internal builtins evaluate their last argument outermost.
	firstArgOuter bool
	// filterArgs are arguments evaluated per use inside the builtin (sub's
	// replacement); they are passed through unevaluated and hidden from the
	// guard.
	filterArgs map[int]bool
	// extra are constant arguments appended for the guard after the
	// evaluated ones (the regular expression builtins say whether they
	// match globally).
	extra []*gojq.Query
}

var (
	globalMatch = []*gojq.Query{{Term: &gojq.Term{Type: gojq.TermTypeTrue}}}
	flagMatch   = []*gojq.Query{{Term: &gojq.Term{Type: gojq.TermTypeFalse}}}
	noFlags     = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNull}}
)

// guardedCalls lists, by name/arity, the builtins that can build a value much
// larger than their input in one uninterruptible call: gojq checks the
// deadline and the watchdog's verdict only between instructions.
var guardedCalls = map[string]guardedCall{
	"tojson/0":        {guard: "#tojson"},
	"tostring/0":      {guard: "#tostring"},
	"join/1":          {guard: "#join"},
	"add/0":           {guard: "#add0"},
	"flatten/0":       {guard: "#flatten"},
	"flatten/1":       {guard: "#flatten"},
	"transpose/0":     {guard: "#transpose"},
	"split/1":         {guard: "#split"},
	"explode/0":       {guard: "#explode"},
	"implode/0":       {guard: "#implode"},
	"indices/1":       {guard: "#indices"},
	"fromjson/0":      {guard: "#fromjson"},
	"setpath/2":       {guard: "#setpath"},
	"strftime/1":      {guard: "#strftime"},
	"strflocaltime/1": {guard: "#strftime"},
	// Regular expressions: gojq's _match builds every match of a global
	// search at once, an object each, so a megabyte string and an empty
	// pattern make a million objects in one call.
	"match/1":   {guard: "#regex", firstArgOuter: true, extra: flagMatch},
	"match/2":   {guard: "#regex", firstArgOuter: true, extra: flagMatch},
	"capture/1": {guard: "#regex", firstArgOuter: true, extra: flagMatch},
	"capture/2": {guard: "#regex", firstArgOuter: true, extra: flagMatch},
	"scan/1":    {guard: "#regex", firstArgOuter: true, extra: globalMatch},
	"scan/2":    {guard: "#regex", firstArgOuter: true, extra: globalMatch},
	"splits/1":  {guard: "#regex", firstArgOuter: true, extra: globalMatch},
	"splits/2":  {guard: "#regex", firstArgOuter: true, extra: globalMatch},
	"split/2":   {guard: "#regex", firstArgOuter: true, extra: globalMatch},
	"sub/2":     {guard: "#regex", firstArgOuter: true, filterArgs: map[int]bool{1: true}, extra: flagMatch},
	"sub/3":     {guard: "#regex", firstArgOuter: true, filterArgs: map[int]bool{1: true}, extra: flagMatch},
	"gsub/2":    {guard: "#regex", firstArgOuter: true, filterArgs: map[int]bool{1: true}, extra: globalMatch},
	"gsub/3":    {guard: "#regex", firstArgOuter: true, filterArgs: map[int]bool{1: true}, extra: globalMatch},
}

// rewriter puts guards into a parsed expression, in place, before gojq
// compiles it. Every rewrite keeps jq's evaluation order (which operand or
// argument is enumerated outermost) so that the outputs, their order and the
// errors stay those of the unguarded expression.
type rewriter struct {
	userDefined map[string]bool // name/arity of functions the expression defines
	fresh       int
}

// guardQuery rewrites parsed in place. The result expects as input the pair
// [input, budget] and binds the budget to budgetVar around the guarded
// expression (gojq's WithVariables would only accept names an expression
// could also write).
func guardQuery(parsed *gojq.Query) {
	r := &rewriter{userDefined: map[string]bool{}}
	collectDefs(parsed, r.userDefined)
	r.query(parsed, false)
	body := *parsed
	body.Meta, body.Imports = nil, nil
	*parsed = gojq.Query{
		Meta:     parsed.Meta,
		Imports:  parsed.Imports,
		Left:     element(1),
		Op:       gojq.OpPipe,
		Patterns: []*gojq.Pattern{{Name: budgetVar}},
		Right:    pipe(element(0), &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: &body}}),
	}
}

// element is .[i].
func element(i int) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIndex, Index: &gojq.Index{
		Start: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNumber, Number: strconv.Itoa(i)}},
	}}}
}

// collectDefs records every function the expression defines: a call of one
// of those names may mean the user's function, whose arguments are filters,
// so it is left alone.
func collectDefs(q *gojq.Query, out map[string]bool) {
	if q == nil {
		return
	}
	for _, fd := range q.FuncDefs {
		out[fd.Name+"/"+strconv.Itoa(len(fd.Args))] = true
		collectDefs(fd.Body, out)
	}
	collectDefs(q.Left, out)
	collectDefs(q.Right, out)
	if q.Term != nil {
		forTermQueries(q.Term, func(sub *gojq.Query) { collectDefs(sub, out) })
	}
}

func (r *rewriter) variable(prefix string) string {
	r.fresh++
	return "$#" + prefix + strconv.Itoa(r.fresh)
}

// query rewrites q's children first, then q itself; inPath is true inside
// the left-hand side of an assignment, where array indices are checked.
func (r *rewriter) query(q *gojq.Query, inPath bool) {
	if q == nil {
		return
	}
	for _, fd := range q.FuncDefs {
		r.query(fd.Body, false)
	}
	for _, p := range q.Patterns {
		r.pattern(p)
	}
	switch q.Op {
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub,
		gojq.OpUpdateMul, gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		r.query(q.Left, true)
		r.query(q.Right, false)
	default:
		r.query(q.Left, inPath)
		r.query(q.Right, inPath)
	}
	if q.Term != nil {
		r.term(q.Term, inPath)
	}
	switch q.Op {
	case gojq.OpAdd, gojq.OpMul, gojq.OpDiv:
		if canGrow(q) {
			*q = *r.binary(q.Left, q.Op, q.Right)
		}
	case gojq.OpUpdateAdd, gojq.OpUpdateMul, gojq.OpUpdateDiv:
		// l op= r is r as $x | l |= (. op $x) (jq's definition, which gojq
		// compiles directly); spelled out here so that op is guarded.
		x := r.variable("x")
		op := map[gojq.Operator]gojq.Operator{gojq.OpUpdateAdd: gojq.OpAdd, gojq.OpUpdateMul: gojq.OpMul, gojq.OpUpdateDiv: gojq.OpDiv}[q.Op]
		update := r.binary(&gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity}}, op, ref(x))
		*q = *bind(q.Right, x, &gojq.Query{Left: q.Left, Op: gojq.OpModify, Right: update})
	}
}

// canGrow reports whether a + b, a * b or a / b may build something large:
// not when an operand is a number literal for + (numbers or an error), nor
// when both are literals.
func canGrow(q *gojq.Query) bool {
	lnum, rnum := isLiteral(q.Left, gojq.TermTypeNumber), isLiteral(q.Right, gojq.TermTypeNumber)
	switch q.Op {
	case gojq.OpAdd:
		return !lnum && !rnum
	case gojq.OpDiv:
		// Only string / string splits.
		return !lnum && !rnum
	}
	return !(lnum && rnum)
}

func isLiteral(q *gojq.Query, typ gojq.TermType) bool {
	return q != nil && q.Term != nil && q.Term.Type == typ && len(q.Term.SuffixList) == 0 && q.Left == nil && q.Right == nil && len(q.FuncDefs) == 0
}

// binary returns l op r guarded: r as $r | l as $l | #op($l; $r) | $l op $r.
// jq enumerates the right operand outermost, as the bindings do. A constant
// operand is used as it is, without a binding.
func (r *rewriter) binary(left *gojq.Query, op gojq.Operator, right *gojq.Query) *gojq.Query {
	guard := map[gojq.Operator]string{gojq.OpAdd: "#add", gojq.OpMul: "#multiply", gojq.OpDiv: "#divide"}[op]
	lref, rref := left, right
	var lv, rv string
	if !isConstant(left) {
		lv = r.variable("l")
		lref = ref(lv)
	}
	if !isConstant(right) {
		rv = r.variable("r")
		rref = ref(rv)
	}
	q := pipe(call(guard, lref, rref, ref(budgetVar)), &gojq.Query{Left: lref, Op: op, Right: rref})
	if lv != "" {
		q = bind(left, lv, q)
	}
	if rv != "" {
		q = bind(right, rv, q)
	}
	return q
}

// isConstant reports a literal or the identity: evaluating it twice (once
// for the guard, once for the builtin) yields the same single value.
func isConstant(q *gojq.Query) bool {
	if q == nil || q.Term == nil || q.Left != nil || q.Right != nil || len(q.FuncDefs) > 0 || len(q.Term.SuffixList) > 0 {
		return false
	}
	switch q.Term.Type {
	case gojq.TermTypeNumber, gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeIdentity:
		return true
	case gojq.TermTypeString:
		return q.Term.Str != nil && len(q.Term.Str.Queries) == 0
	}
	return false
}

func (r *rewriter) pattern(p *gojq.Pattern) {
	if p == nil {
		return
	}
	for _, e := range p.Array {
		r.pattern(e)
	}
	for _, o := range p.Object {
		r.str(o.KeyString, "@text")
		r.query(o.KeyQuery, false)
		r.pattern(o.Val)
	}
}

func (r *rewriter) term(t *gojq.Term, inPath bool) {
	r.index(t.Index, inPath)
	for _, s := range t.SuffixList {
		r.index(s.Index, inPath)
	}
	switch t.Type {
	case gojq.TermTypeFunc:
		for _, a := range t.Func.Args {
			// Arguments of path functions (first, select, ...) are paths
			// too; an index checked outside one only costs a comparison.
			r.query(a, inPath)
		}
		r.call(t)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			r.str(kv.KeyString, "@text")
			r.query(kv.KeyQuery, false)
			r.query(kv.Val, false)
		}
	case gojq.TermTypeArray:
		r.query(t.Array.Query, false)
	case gojq.TermTypeUnary:
		r.term(t.Unary.Term, inPath)
	case gojq.TermTypeString:
		r.str(t.Str, "@text")
	case gojq.TermTypeFormat:
		if t.Str != nil {
			r.str(t.Str, t.Format)
		} else {
			r.wrap(t, call("#format", literal(t.Format), ref(budgetVar)))
		}
	case gojq.TermTypeIf:
		r.query(t.If.Cond, false)
		r.query(t.If.Then, inPath)
		for _, e := range t.If.Elif {
			r.query(e.Cond, false)
			r.query(e.Then, inPath)
		}
		r.query(t.If.Else, inPath)
	case gojq.TermTypeTry:
		r.query(t.Try.Body, inPath)
		r.query(t.Try.Catch, false)
	case gojq.TermTypeReduce:
		r.query(t.Reduce.Query, false)
		for _, p := range t.Reduce.Patterns {
			r.pattern(p)
		}
		r.query(t.Reduce.Start, false)
		r.query(t.Reduce.Update, false)
	case gojq.TermTypeForeach:
		r.query(t.Foreach.Query, false)
		for _, p := range t.Foreach.Patterns {
			r.pattern(p)
		}
		r.query(t.Foreach.Start, false)
		r.query(t.Foreach.Update, false)
		r.query(t.Foreach.Extract, false)
	case gojq.TermTypeLabel:
		r.query(t.Label.Body, inPath)
	case gojq.TermTypeQuery:
		r.query(t.Query, inPath)
	}
}

// index rewrites an index's expressions; on the left of an assignment a
// number that is not a small literal is checked, since setting .[n] on a
// shorter array allocates n elements in one call.
func (r *rewriter) index(ix *gojq.Index, inPath bool) {
	if ix == nil {
		return
	}
	r.str(ix.Str, "@text")
	for _, q := range []*gojq.Query{ix.Start, ix.End} {
		if q == nil {
			continue
		}
		r.query(q, false)
		if inPath && !isSmallIndex(q) {
			inner := *q
			*q = gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: pipe(&inner, call("#index", ref(budgetVar)))}}
		}
	}
}

func isSmallIndex(q *gojq.Query) bool {
	if !isLiteral(q, gojq.TermTypeNumber) {
		return false
	}
	n, err := strconv.ParseFloat(q.Term.Number, 64)
	return err == nil && n < 1<<16
}

// str guards each interpolation of a string: its value is turned into text
// by format (tostring for plain strings), which can be as large as the
// value's JSON.
func (r *rewriter) str(s *gojq.String, format string) {
	if s == nil {
		return
	}
	for i, q := range s.Queries {
		if q.Term != nil && q.Term.Type == gojq.TermTypeString && len(q.Term.Str.Queries) == 0 {
			continue // a literal part
		}
		r.query(q, false)
		s.Queries[i] = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery,
			Query: pipe(q, call("#format", literal(format), ref(budgetVar)))}}
	}
}

// call guards a call of one of guardedCalls, unless the expression defines a
// function of that name itself.
func (r *rewriter) call(t *gojq.Term) {
	f := t.Func
	key := f.Name + "/" + strconv.Itoa(len(f.Args))
	if key == "builtins/0" && !r.userDefined[key] {
		// gojq lists custom functions among the builtins; the guards are
		// not the user's to see.
		r.wrapQuery(t, pipe(&gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "builtins"}}},
			call("map", call("select", pipe(call("startswith", literal("#")), call("not"))))))
		return
	}
	g, ok := guardedCalls[key]
	if !ok || r.userDefined[key] {
		return
	}
	vars := make([]string, len(f.Args))
	guardArgs := make([]*gojq.Query, 0, len(f.Args)+2)
	callArgs := make([]*gojq.Query, len(f.Args))
	for i, a := range f.Args {
		switch {
		case g.filterArgs[i]:
			callArgs[i] = a
			continue
		case isConstant(a):
			callArgs[i] = a
		default:
			vars[i] = r.variable("a")
			callArgs[i] = ref(vars[i])
		}
		guardArgs = append(guardArgs, callArgs[i])
	}
	if g.guard == "#regex" && len(guardArgs) == 1 {
		guardArgs = append(guardArgs, noFlags) // the one-argument forms: no flags
	}
	guardArgs = append(guardArgs, g.extra...)
	guardArgs = append(guardArgs, ref(budgetVar))
	body := pipe(call(g.guard, guardArgs...), call(f.Name, callArgs...))
	// Bind innermost first, so that the argument jq enumerates outermost is
	// bound outermost.
	order := make([]int, 0, len(f.Args))
	for i := range f.Args {
		order = append(order, i)
	}
	if g.firstArgOuter {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	for _, i := range order {
		if vars[i] != "" {
			body = bind(f.Args[i], vars[i], body)
		}
	}
	r.wrapQuery(t, body)
}

// wrap replaces term t by (check | t), keeping t's suffixes outside.
func (r *rewriter) wrap(t *gojq.Term, check *gojq.Query) {
	inner := *t
	inner.SuffixList = nil
	r.wrapQuery(t, pipe(check, &gojq.Query{Term: &inner}))
}

func (r *rewriter) wrapQuery(t *gojq.Term, q *gojq.Query) {
	*t = gojq.Term{Type: gojq.TermTypeQuery, Query: q, SuffixList: t.SuffixList}
}

func pipe(l, r *gojq.Query) *gojq.Query { return &gojq.Query{Left: l, Op: gojq.OpPipe, Right: r} }

func bind(src *gojq.Query, name string, body *gojq.Query) *gojq.Query {
	return &gojq.Query{Left: src, Op: gojq.OpPipe, Patterns: []*gojq.Pattern{{Name: name}}, Right: body}
}

func call(name string, args ...*gojq.Query) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: args}}}
}

// ref is a variable reference: gojq's syntax tree spells $x as a call of "$x".
func ref(name string) *gojq.Query { return call(name) }

func literal(s string) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeString, Str: &gojq.String{Str: s}}}
}

// forTermQueries calls fn for every query directly inside term t.
func forTermQueries(t *gojq.Term, fn func(*gojq.Query)) {
	if t == nil {
		return
	}
	for _, ix := range append([]*gojq.Index{t.Index}, suffixIndices(t)...) {
		if ix != nil {
			fn(ix.Start)
			fn(ix.End)
		}
	}
	switch t.Type {
	case gojq.TermTypeFunc:
		for _, a := range t.Func.Args {
			fn(a)
		}
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			fn(kv.KeyQuery)
			fn(kv.Val)
		}
	case gojq.TermTypeArray:
		fn(t.Array.Query)
	case gojq.TermTypeUnary:
		forTermQueries(t.Unary.Term, fn)
	case gojq.TermTypeIf:
		fn(t.If.Cond)
		fn(t.If.Then)
		for _, e := range t.If.Elif {
			fn(e.Cond)
			fn(e.Then)
		}
		fn(t.If.Else)
	case gojq.TermTypeTry:
		fn(t.Try.Body)
		fn(t.Try.Catch)
	case gojq.TermTypeReduce:
		fn(t.Reduce.Query)
		fn(t.Reduce.Start)
		fn(t.Reduce.Update)
	case gojq.TermTypeForeach:
		fn(t.Foreach.Query)
		fn(t.Foreach.Start)
		fn(t.Foreach.Update)
		fn(t.Foreach.Extract)
	case gojq.TermTypeLabel:
		fn(t.Label.Body)
	case gojq.TermTypeQuery:
		fn(t.Query)
	}
	if t.Str != nil {
		for _, q := range t.Str.Queries {
			fn(q)
		}
	}
}

func suffixIndices(t *gojq.Term) []*gojq.Index {
	var out []*gojq.Index
	for _, s := range t.SuffixList {
		out = append(out, s.Index)
	}
	return out
}
