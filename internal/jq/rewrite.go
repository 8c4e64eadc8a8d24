package jq

import (
	"errors"
	"strconv"

	"github.com/itchyny/gojq"
)

// callGuard says how a call of a builtin is guarded: a prefix guard checks
// its input, argument guards wrap arguments in place.
type callGuard struct {
	prefix string
	args   map[int]string
}

func onArg(i int, g string) callGuard { return callGuard{args: map[int]string{i: g}} }

// guardedCalls lists, by name/arity, the builtins implemented in Go that walk
// or build a value in one call, and the builtins defined in jq whose body
// hands the values of an argument to such a call (sort_by's keys go to
// _sort_by, IN's values to ==). Everything else is left as gojq has it.
var guardedCalls = func() map[string]callGuard {
	m := map[string]callGuard{}
	for _, name := range []string{
		"tojson/0", "tostring/0", "sort/0", "unique/0", "min/0", "max/0", "flatten/0", "flatten/1",
		"add/0", "format/1", "_tohtml/0", "_touri/0", "_tourid/0", "_tocsv/0", "_totsv/0", "_tosh/0",
		"_tobase64/0", "_sort_by/1", "_group_by/1", "_unique_by/1", "_min_by/1", "_max_by/1",
	} {
		m[name] = callGuard{prefix: "#walk"}
	}
	m["explode/0"] = callGuard{prefix: "#explode"}
	m["fromjson/0"] = callGuard{prefix: "#fromjson"}
	m["transpose/0"] = callGuard{prefix: "#transpose"}
	m["bsearch/1"] = callGuard{prefix: "#walk", args: map[int]string{0: "#walkarg"}}
	// delpaths walks the whole value after deleting (to drop the holes).
	m["delpaths/1"] = callGuard{prefix: "#walk", args: map[int]string{0: "#walkarg"}}
	m["del/1"] = callGuard{prefix: "#walk"}
	m["_modify/2"] = callGuard{prefix: "#modify"}
	for _, name := range []string{"sort_by/1", "group_by/1", "unique_by/1", "min_by/1", "max_by/1", "IN/1", "INDEX/1", "add/1"} {
		m[name] = onArg(0, "#walkarg")
	}
	m["IN/2"] = callGuard{args: map[int]string{0: "#walkarg", 1: "#walkarg"}}
	m["INDEX/2"] = onArg(1, "#walkarg")
	m["JOIN/2"] = onArg(1, "#walkarg")
	m["JOIN/3"] = onArg(2, "#walkarg")
	m["JOIN/4"] = onArg(2, "#walkarg")
	m["map/1"] = onArg(0, "#elem")
	// Each step of these recursing builtins runs the argument once.
	m["recurse/1"] = onArg(0, "#step")
	m["recurse/2"] = onArg(0, "#step")
	m["repeat/1"] = onArg(0, "#step")
	m["until/2"] = onArg(1, "#step")
	m["while/2"] = onArg(1, "#step")
	for _, name := range []string{"contains/1", "inside/1", "indices/1", "index/1", "rindex/1"} {
		m[name] = onArg(0, "#product")
	}
	m["join/1"] = onArg(0, "#join")
	m["split/1"] = onArg(0, "#split")
	for _, name := range []string{
		"test/1", "test/2", "match/1", "match/2", "capture/1", "capture/2", "scan/1", "scan/2",
		"splits/1", "splits/2", "split/2", "sub/2", "sub/3", "gsub/2", "gsub/3", "_match/3",
	} {
		m[name] = onArg(0, "#regex")
	}
	m["strftime/1"] = onArg(0, "#strftime")
	m["strflocaltime/1"] = onArg(0, "#strftime")
	m["setpath/2"] = onArg(0, "#path")
	m["fromstream/1"] = onArg(0, "#event")
	return m
}()

// guard checks a parsed config expression for the environment and puts the
// guards into it, in place. It follows jq's scoping so that a function the
// expression defines, which may shadow a builtin, is never guarded as one,
// and it keeps every definition where it was written.
//
// The evaluation's budget reaches the guards through a variable no jq text
// can name: the program runs on [input, budget] and starts with
// .[1] as $#budget | .[0] | ..., so the expression sees its input as usual
// and cannot reach the budget (gojq would panic on its Go type).
func guard(q *gojq.Query) error {
	if err := rewrite(q); err != nil {
		return err
	}
	body := *q
	body.Meta, body.Imports = nil, nil
	*q = gojq.Query{Meta: q.Meta, Imports: q.Imports,
		Left: element(1), Patterns: []*gojq.Pattern{{Name: budgetVar}}, Op: gojq.OpPipe,
		Right: pipe(element(0), &body)}
	return nil
}

// rewrite puts the guards into q, in place, without the budget's binding:
// the caller binds $#budget around it (guard, or a Batch's program).
func rewrite(q *gojq.Query) error {
	r := &rewriter{defined: map[string]int{}}
	r.query(q)
	return r.err
}

func element(i int) *gojq.Query {
	n := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeNumber, Number: strconv.Itoa(i)}}
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity, SuffixList: []*gojq.Suffix{{Index: &gojq.Index{Start: n}}}}}
}

type rewriter struct {
	defined map[string]int // name/arity of the functions in scope, counted
	// writing is above zero where an index may be written: the left side
	// of an update, pick's argument, and function bodies (which an update
	// may call).
	writing int
	err     error
}

func (r *rewriter) write(q *gojq.Query) {
	r.writing++
	r.query(q)
	r.writing--
}

func key(name string, arity int) string { return name + "/" + strconv.Itoa(arity) }

func (r *rewriter) define(name string, arity int) func() {
	k := key(name, arity)
	r.defined[k]++
	return func() { r.defined[k]-- }
}

func (r *rewriter) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *rewriter) query(q *gojq.Query) {
	if q == nil {
		return
	}
	// A definition is visible in its own body, in the definitions after it
	// and in the query they prefix.
	for _, fd := range q.FuncDefs {
		defer r.define(fd.Name, len(fd.Args))()
		r.funcDef(fd)
	}
	if q.Term != nil {
		r.term(q.Term)
		return
	}
	switch q.Op {
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul,
		gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		r.write(q.Left)
	default:
		r.query(q.Left)
	}
	for _, p := range q.Patterns {
		r.pattern(p)
	}
	r.query(q.Right)
	switch q.Op {
	case gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul, gojq.OpUpdateDiv:
		// l op= r is r as $x | l |= . op $x (the jq manual's definition),
		// written out so that the operator is guarded.
		op := map[gojq.Operator]gojq.Operator{
			gojq.OpUpdateAdd: gojq.OpAdd, gojq.OpUpdateSub: gojq.OpSub,
			gojq.OpUpdateMul: gojq.OpMul, gojq.OpUpdateDiv: gojq.OpDiv,
		}[q.Op]
		update := &gojq.Query{Left: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity}}, Op: op, Right: ref("$#u")}
		guardOp(update)
		*q = gojq.Query{Meta: q.Meta, Imports: q.Imports, FuncDefs: q.FuncDefs, Left: q.Right,
			Patterns: []*gojq.Pattern{{Name: "$#u"}}, Op: gojq.OpPipe,
			Right: modify(&gojq.Query{Left: q.Left, Op: gojq.OpModify, Right: update})}
	case gojq.OpModify:
		*q = *modify(&gojq.Query{Left: q.Left, Op: q.Op, Right: q.Right, FuncDefs: q.FuncDefs, Meta: q.Meta, Imports: q.Imports})
	default:
		if _, ok := opGuards[q.Op]; ok {
			guardOp(q)
		}
	}
}

// modify puts #modify before l |= f: where f yields nothing, gojq deletes
// the path and then walks the whole value to drop the holes.
func modify(q *gojq.Query) *gojq.Query {
	outer := &gojq.Query{Meta: q.Meta, Imports: q.Imports, FuncDefs: q.FuncDefs}
	q.Meta, q.Imports, q.FuncDefs = nil, nil, nil
	outer.Left, outer.Op, outer.Right = call("#modify", ref(budgetVar)), gojq.OpPipe, q
	return outer
}

// guardOp turns l op r into #op(l; r) as [$#l, $#r] | $#l op $#r. gojq
// enumerates a custom function's arguments as it does an operator's, so the
// outputs keep their order, and the real operator computes the result.
func guardOp(q *gojq.Query) {
	pair := call(opGuardName(q.Op), q.Left, q.Right, ref(budgetVar))
	*q = gojq.Query{Meta: q.Meta, Imports: q.Imports, FuncDefs: q.FuncDefs, Left: pair,
		Patterns: []*gojq.Pattern{{Array: []*gojq.Pattern{{Name: "$#l"}, {Name: "$#r"}}}}, Op: gojq.OpPipe,
		Right: &gojq.Query{Left: ref("$#l"), Op: q.Op, Right: ref("$#r")}}
}

func (r *rewriter) funcDef(fd *gojq.FuncDef) {
	// Parameters are functions of arity 0 in the body ($p binds p too).
	for _, a := range fd.Args {
		if a[0] == '$' {
			a = a[1:]
		}
		defer r.define(a, 0)()
	}
	defer r.define(fd.Name, len(fd.Args))()
	r.write(fd.Body)
	// Count the call: if #call then body else empty end. The condition is
	// not part of a path, so path(f) still works.
	fd.Body = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIf, If: &gojq.If{
		Cond: call("#call", ref(budgetVar)), Then: fd.Body, Else: call("empty")}}}
}

func (r *rewriter) pattern(p *gojq.Pattern) {
	for _, e := range p.Array {
		r.pattern(e)
	}
	for _, o := range p.Object {
		r.str(o.KeyString)
		r.query(o.KeyQuery)
		if o.Val != nil {
			r.pattern(o.Val)
		}
	}
}

func (r *rewriter) str(s *gojq.String) {
	if s == nil {
		return
	}
	// Interpolation formats each value in Go (tostring, or the @format).
	// gojq reads the literal pieces as string terms and everything else as
	// an interpolation, so the guarded piece must stay a term.
	for i, q := range s.Queries {
		if q.Term != nil && q.Term.Type == gojq.TermTypeString && q.Term.Str.Queries == nil {
			continue
		}
		r.query(q)
		s.Queries[i] = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: pipe(q, call("#walk", ref(budgetVar)))}}
	}
}

func (r *rewriter) index(x *gojq.Index) {
	if x == nil {
		return
	}
	r.str(x.Str)
	r.query(x.Start)
	r.query(x.End)
	if x.Start != nil && !x.IsSlice && !smallLiteral(x.Start) {
		g := "#index"
		if r.writing > 0 {
			g = "#windex"
		}
		x.Start = call(g, x.Start, ref(budgetVar))
	}
}

// smallLiteral is a key whose guard would always pass.
func smallLiteral(q *gojq.Query) bool {
	if q.Term == nil || len(q.Term.SuffixList) > 0 {
		return false
	}
	switch q.Term.Type {
	case gojq.TermTypeString:
		return q.Term.Str.Queries == nil
	case gojq.TermTypeNumber:
		f, err := strconv.ParseFloat(q.Term.Number, 64)
		return err == nil && f < maxIndex
	}
	return false
}

func (r *rewriter) term(t *gojq.Term) {
	switch t.Type {
	case gojq.TermTypeIndex:
		r.index(t.Index)
	case gojq.TermTypeFunc:
		r.call(t)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			if kv.Key == "$ENV" && kv.Val == nil {
				r.fail(envMessage("$ENV"))
			}
			r.str(kv.KeyString)
			r.query(kv.KeyQuery)
			r.query(kv.Val)
		}
	case gojq.TermTypeArray:
		if t.Array.Query != nil {
			r.query(t.Array.Query)
			t.Array.Query = call("#elem", t.Array.Query, ref(budgetVar))
		}
	case gojq.TermTypeUnary:
		r.term(t.Unary.Term)
	case gojq.TermTypeFormat:
		if t.Str != nil {
			r.str(t.Str)
		} else {
			r.prefix(t, "#walk")
		}
	case gojq.TermTypeString:
		r.str(t.Str)
	case gojq.TermTypeIf:
		r.query(t.If.Cond)
		r.query(t.If.Then)
		for _, e := range t.If.Elif {
			r.query(e.Cond)
			r.query(e.Then)
		}
		r.query(t.If.Else)
	case gojq.TermTypeTry:
		r.query(t.Try.Body)
		r.query(t.Try.Catch)
	case gojq.TermTypeReduce:
		r.query(t.Reduce.Query)
		for _, p := range t.Reduce.Patterns {
			r.pattern(p)
		}
		r.query(t.Reduce.Start)
		r.query(t.Reduce.Update)
	case gojq.TermTypeForeach:
		r.query(t.Foreach.Query)
		for _, p := range t.Foreach.Patterns {
			r.pattern(p)
		}
		r.query(t.Foreach.Start)
		r.query(t.Foreach.Update)
		r.query(t.Foreach.Extract)
	case gojq.TermTypeLabel:
		r.query(t.Label.Body)
	case gojq.TermTypeQuery:
		r.query(t.Query)
	}
	for _, s := range t.SuffixList {
		r.index(s.Index)
	}
}

func (r *rewriter) call(t *gojq.Term) {
	f := t.Func
	arity := len(f.Args)
	shadowed := r.defined[key(f.Name, arity)] > 0
	for i, a := range f.Args {
		switch k := key(f.Name, arity); {
		case shadowed:
			r.query(a)
		case i == 0 && (k == "pick/1" || k == "_modify/2" || k == "_assign/2"):
			r.write(a)
		case k == "getpath/1" && r.writing > 0:
			r.query(a)
			f.Args[0] = call("#path", a, ref(budgetVar))
		default:
			r.query(a)
		}
	}
	if f.Name[0] == '$' {
		if f.Name == "$ENV" {
			r.fail(envMessage("$ENV"))
		}
		return
	}
	if shadowed {
		return // the expression's own function
	}
	if f.Name == "builtins" && arity == 0 {
		inner := *t
		inner.SuffixList = nil
		*t = gojq.Term{Type: gojq.TermTypeQuery, SuffixList: t.SuffixList,
			Query: pipe(&gojq.Query{Term: &inner}, call("#hide"))}
		return
	}
	if f.Name == "env" && arity == 0 {
		r.fail(envMessage("env"))
		return
	}
	g, ok := guardedCalls[key(f.Name, arity)]
	if !ok {
		return
	}
	for i, name := range g.args {
		f.Args[i] = call(name, f.Args[i], ref(budgetVar))
	}
	if g.prefix != "" {
		r.prefix(t, g.prefix)
	}
}

// prefix runs a guard on the term's input before the term, keeping the
// term's suffixes after both.
func (r *rewriter) prefix(t *gojq.Term, guard string) {
	inner := *t
	inner.SuffixList = nil
	*t = gojq.Term{Type: gojq.TermTypeQuery, SuffixList: t.SuffixList,
		Query: pipe(call(guard, ref(budgetVar)), &gojq.Query{Term: &inner})}
}

func pipe(l, r *gojq.Query) *gojq.Query { return &gojq.Query{Left: l, Op: gojq.OpPipe, Right: r} }

func call(name string, args ...*gojq.Query) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: args}}}
}

func ref(name string) *gojq.Query { return call(name) }
