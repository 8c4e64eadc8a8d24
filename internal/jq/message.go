package jq

import (
	"container/list"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/itchyny/gojq"
)

// Bounds of a message expression. The rule library's longest expression is
// under 1 KiB and nests 6 levels; these leave room for hand-written rules.
const (
	// MaxMessageExprBytes bounds a message expression's length, checked
	// before anything else reads it.
	MaxMessageExprBytes = 4 << 10
	// MaxMessageExprDepth bounds the nesting of brackets, parentheses,
	// braces and string interpolations, checked before gojq parses.
	MaxMessageExprDepth = 64
	// MaxMessagePattern bounds a regular expression's length. Patterns must be
	// string literals: a message cannot build one from its fields.
	MaxMessagePattern = 256
	// MessageTimeout and MessageMaxOutputs bound one evaluation: a message
	// expression picks a field or two of a small document.
	MessageTimeout    = 200 * time.Millisecond
	MessageMaxOutputs = 2
	// messageCacheSize bounds the compiled message expressions kept: a
	// rule emits the same few texts for every event.
	messageCacheSize = 1024
)

// messageBuiltins are the functions a message expression may call, by
// name/arity: pure, cheap on a message-sized document, and none loops or
// recurses. Regular expressions are limited further (messageRegex).
var messageBuiltins = map[string]bool{}

// messageRegex are the regular-expression builtins, whose first argument
// must be a literal pattern of at most MaxMessagePattern bytes.
var messageRegex = map[string]bool{"test/1": true, "sub/2": true, "gsub/2": true}

func init() {
	for _, k := range []string{
		"length/0", "utf8bytelength/0", "not/0", "type/0", "keys/0", "values/0", "has/1", "contains/1",
		"startswith/1", "endswith/1", "ltrimstr/1", "rtrimstr/1", "ascii_downcase/0", "ascii_upcase/0",
		"tostring/0", "tonumber/0", "split/1", "join/1", "first/0", "last/0", "map/1", "select/1",
		"empty/0", "error/0", "error/1", "add/0", "any/0", "all/0", "index/1", "rindex/1", "reverse/0",
	} {
		messageBuiltins[k] = true
	}
	for k := range messageRegex {
		messageBuiltins[k] = true
	}
}

var messageCache = newLRU(messageCacheSize)

// CompileMessage compiles an expression taken from an event message, in the
// message sandbox (see the package documentation), once per distinct text.
// It is safe for concurrent use.
func CompileMessage(expr string) (*Query, error) {
	if q, ok := messageCache.get(expr); ok {
		return q, nil
	}
	q, err := compileMessage(expr)
	if err != nil {
		return nil, err
	}
	messageCache.put(expr, q)
	return q, nil
}

func compileMessage(expr string) (*Query, error) {
	if len(expr) > MaxMessageExprBytes {
		return nil, &Error{Expr: expr, Phase: "parse", Err: fmt.Errorf("%w: a message expression is %d bytes, at most %d", ErrLimit, len(expr), MaxMessageExprBytes)}
	}
	if err := checkNesting(expr); err != nil {
		return nil, &Error{Expr: expr, Phase: "parse", Err: err}
	}
	parsed, err := parse(expr)
	if err != nil {
		return nil, err
	}
	if err := checkMessageGrammar(parsed); err != nil {
		return nil, &Error{Expr: expr, Phase: "compile", Err: err}
	}
	return compile(expr, parsed, []Option{WithTimeout(MessageTimeout), WithMaxOutputs(MessageMaxOutputs)})
}

// checkNesting scans the text as jq's lexer would for brackets: outside
// strings and comments, and inside \( ) of a string. It allocates nothing.
func checkNesting(expr string) error {
	// stack[i] is true for an interpolation, false for a bracket; a string
	// is open when inString, and an interpolation returns to one.
	var stack [MaxMessageExprDepth]bool
	depth, inString := 0, false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if inString {
			switch c {
			case '\\':
				if i+1 < len(expr) && expr[i+1] == '(' {
					if depth == MaxMessageExprDepth {
						return fmt.Errorf("%w: a message expression nests deeper than %d", ErrLimit, MaxMessageExprDepth)
					}
					stack[depth], depth, inString = true, depth+1, false
				}
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case '(', '[', '{':
			if depth == MaxMessageExprDepth {
				return fmt.Errorf("%w: a message expression nests deeper than %d", ErrLimit, MaxMessageExprDepth)
			}
			stack[depth], depth = false, depth+1
		case ')', ']', '}':
			if depth > 0 {
				depth--
				inString = stack[depth]
			}
		}
	}
	return nil
}

// checkMessageGrammar accepts only the message grammar.
func checkMessageGrammar(q *gojq.Query) error {
	g := &grammar{}
	g.query(q)
	return g.err
}

type grammar struct{ err error }

func (g *grammar) refuse(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("not allowed in a message expression: "+format, args...)
	}
}

func (g *grammar) query(q *gojq.Query) {
	if q == nil || g.err != nil {
		return
	}
	if q.Meta != nil || len(q.Imports) > 0 {
		g.refuse("modules")
	}
	if len(q.FuncDefs) > 0 {
		g.refuse("def")
	}
	if q.Term != nil {
		g.term(q.Term)
		return
	}
	switch q.Op {
	case gojq.OpPipe, gojq.OpComma, gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe, gojq.OpAnd, gojq.OpOr, gojq.OpAlt:
	case 0: // an empty query: gojq says what is missing
	default:
		// Operator.String panics on operators it does not name.
		g.refuse("this operator (%s)", opName(q.Op))
	}
	for _, p := range q.Patterns {
		g.pattern(p)
	}
	g.query(q.Left)
	g.query(q.Right)
}

func (g *grammar) pattern(p *gojq.Pattern) {
	for _, e := range p.Array {
		g.pattern(e)
	}
	for _, o := range p.Object {
		g.str(o.KeyString)
		g.query(o.KeyQuery)
		if o.Val != nil {
			g.pattern(o.Val)
		}
	}
}

func (g *grammar) str(s *gojq.String) {
	if s != nil {
		for _, q := range s.Queries {
			g.query(q)
		}
	}
}

func (g *grammar) index(x *gojq.Index) {
	if x != nil {
		g.str(x.Str)
		g.query(x.Start)
		g.query(x.End)
	}
}

func (g *grammar) term(t *gojq.Term) {
	switch t.Type {
	case gojq.TermTypeIdentity, gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber:
	case gojq.TermTypeIndex:
		g.index(t.Index)
	case gojq.TermTypeString:
		g.str(t.Str)
	case gojq.TermTypeFunc:
		g.call(t.Func)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			g.str(kv.KeyString)
			g.query(kv.KeyQuery)
			g.query(kv.Val)
		}
	case gojq.TermTypeArray:
		g.query(t.Array.Query)
	case gojq.TermTypeUnary:
		g.term(t.Unary.Term)
	case gojq.TermTypeIf:
		g.query(t.If.Cond)
		g.query(t.If.Then)
		for _, e := range t.If.Elif {
			g.query(e.Cond)
			g.query(e.Then)
		}
		g.query(t.If.Else)
	case gojq.TermTypeTry:
		g.query(t.Try.Body)
		g.query(t.Try.Catch)
	case gojq.TermTypeQuery:
		g.query(t.Query)
	default:
		g.refuse("%s", t)
	}
	for _, s := range t.SuffixList {
		g.index(s.Index)
	}
}

func (g *grammar) call(f *gojq.Func) {
	if f.Name[0] == '$' {
		return // a variable the expression bound; $ENV is refused by guard
	}
	k := key(f.Name, len(f.Args))
	if !messageBuiltins[k] {
		g.refuse("the function %s", k)
		return
	}
	if messageRegex[k] {
		re := f.Args[0]
		if re.Term == nil || re.Term.Type != gojq.TermTypeString || re.Term.Str.Queries != nil || len(re.Term.SuffixList) > 0 {
			g.refuse("a regular expression that is not a string literal in %s", k)
			return
		}
		if n := len(re.Term.Str.Str); n > MaxMessagePattern {
			g.refuse("a regular expression of %s bytes (at most %d)", strconv.Itoa(n), MaxMessagePattern)
			return
		}
	}
	for _, a := range f.Args {
		g.query(a)
	}
}

func opName(op gojq.Operator) (name string) {
	defer func() {
		if recover() != nil {
			name = "none"
		}
	}()
	return op.String()
}

// lru is a bounded map from expression text to its compiled query, dropping
// the least recently used. A mutex is enough: an entry is looked up once per
// message field.
type lru struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *lruEntry, most recent first
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	q   *Query
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(k string) (*Query, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry).q, true
	}
	return nil, false
}

func (c *lru) put(k string, q *Query) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, q: q})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
