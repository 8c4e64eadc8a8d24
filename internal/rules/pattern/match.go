package pattern

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

type objectNode struct {
	fields []field
	// ors holds one group per "$or" key: the object matches a group when
	// any of its alternatives matches the same event object.
	ors [][]*objectNode
}

type field struct {
	name  string
	child *objectNode // nested pattern object, or
	leaf  *leaf       // list of alternatives
}

type leaf struct {
	matchers []matcher
	exists   []bool // {"exists": true|false} alternatives
}

type scalarKind uint8

const (
	kindString scalarKind = iota
	kindNumber
	kindBool
	kindNull
)

// scalar is one leaf value of an event: for strings text is the string
// itself, for numbers, booleans and null it is their JSON text.
type scalar struct {
	kind scalarKind
	text string
}

func boolScalar(b bool) scalar {
	if b {
		return scalar{kind: kindBool, text: "true"}
	}
	return scalar{kind: kindBool, text: "false"}
}

func (s scalar) number() (float64, bool) {
	if s.kind != kindNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(s.text, 64)
	return f, err == nil
}

type matcher interface {
	match(s scalar) bool
}

// Match reports whether event matches the pattern. event is the event's JSON
// text ([]byte or json.RawMessage) or a decoded JSON object. An event that is
// not a JSON object matches nothing; use MatchJSON to see why.
func (p *Pattern) Match(event any) bool {
	ok, _ := p.MatchJSON(event)
	return ok
}

// MatchJSON is Match that also reports an event that cannot be read.
func (p *Pattern) MatchJSON(event any) (bool, error) {
	var doc any
	var err error
	switch v := event.(type) {
	case []byte:
		doc, err = decodeJSON(v)
	case json.RawMessage:
		doc, err = decodeJSON(v)
	case map[string]any:
		doc, err = decodeJSONish(v)
	default:
		return false, fmt.Errorf("event: unsupported type %T, want JSON text or map[string]any", event)
	}
	if err != nil {
		return false, fmt.Errorf("event is not valid JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return false, fmt.Errorf("event must be a JSON object, got %s", jsonKind(doc))
	}
	return p.root.match(obj), nil
}

func (n *objectNode) match(ev map[string]any) bool {
	for i := range n.fields {
		f := &n.fields[i]
		v, present := ev[f.name]
		if f.leaf != nil {
			if !f.leaf.match(v, present) {
				return false
			}
			continue
		}
		if !f.matchChild(v, present) {
			return false
		}
	}
	for _, group := range n.ors {
		matched := false
		for _, alt := range group {
			if alt.match(ev) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// matchChild matches a nested pattern object. Where the event has no object
// at that place the nested fields are all absent, which only patterns made
// of {"exists": false} accept. An array holding objects matches when one of
// its elements does on its own, which keeps matching array-consistent.
func (f *field) matchChild(v any, present bool) bool {
	if !present {
		return f.child.match(nil)
	}
	switch x := v.(type) {
	case map[string]any:
		return f.child.match(x)
	case []any:
		sawElement := false
		matched := eachElement(x, func(el any) bool {
			sawElement = true
			obj, _ := el.(map[string]any)
			return f.child.match(obj)
		})
		if matched {
			return true
		}
		return !sawElement && f.child.match(nil)
	default:
		return f.child.match(nil)
	}
}

// eachElement calls fn for each non-array element of arr, descending into
// nested arrays, until fn returns true.
func eachElement(arr []any, fn func(any) bool) bool {
	for _, el := range arr {
		if inner, ok := el.([]any); ok {
			if eachElement(inner, fn) {
				return true
			}
			continue
		}
		if fn(el) {
			return true
		}
	}
	return false
}

// eachScalar calls fn for each leaf value of v (v itself, or the scalars of
// an array, nested arrays included; objects are not leaves) until fn
// returns true.
func eachScalar(v any, fn func(scalar) bool) bool {
	switch x := v.(type) {
	case string:
		return fn(scalar{kind: kindString, text: x})
	case json.Number:
		return fn(scalar{kind: kindNumber, text: x.String()})
	case bool:
		return fn(boolScalar(x))
	case nil:
		return fn(scalar{kind: kindNull, text: "null"})
	case []any:
		for _, el := range x {
			if eachScalar(el, fn) {
				return true
			}
		}
	}
	return false
}

func (l *leaf) match(v any, present bool) bool {
	if len(l.exists) > 0 {
		hasLeaf := present && eachScalar(v, func(scalar) bool { return true })
		for _, want := range l.exists {
			if want == hasLeaf {
				return true
			}
		}
	}
	if !present || len(l.matchers) == 0 {
		return false
	}
	return eachScalar(v, func(s scalar) bool {
		for _, m := range l.matchers {
			if m.match(s) {
				return true
			}
		}
		return false
	})
}

type exactMatcher struct{ want scalar }

func (m exactMatcher) match(s scalar) bool { return s == m.want }

type prefixMatcher struct {
	prefix string
	fold   bool
}

func (m prefixMatcher) match(s scalar) bool {
	if s.kind != kindString {
		return false
	}
	if m.fold {
		_, ok := foldPrefix(s.text, m.prefix)
		return ok
	}
	return strings.HasPrefix(s.text, m.prefix)
}

type suffixMatcher struct {
	suffix string
	fold   bool
}

func (m suffixMatcher) match(s scalar) bool {
	if s.kind != kindString {
		return false
	}
	if m.fold {
		return foldSuffix(s.text, m.suffix)
	}
	return strings.HasSuffix(s.text, m.suffix)
}

type ignoreCaseMatcher struct{ want string }

func (m ignoreCaseMatcher) match(s scalar) bool {
	return s.kind == kindString && strings.EqualFold(s.text, m.want)
}

// foldPrefix reports whether s starts with prefix under Unicode simple case
// folding, and the length in bytes of the part of s that matched.
func foldPrefix(s, prefix string) (int, bool) {
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sr, size := utf8.DecodeRuneInString(s[i:])
		if !strings.EqualFold(string(sr), string(pr)) {
			return 0, false
		}
		i += size
	}
	return i, true
}

func foldSuffix(s, suffix string) bool {
	i, j := len(s), len(suffix)
	for j > 0 {
		if i == 0 {
			return false
		}
		pr, psize := utf8.DecodeLastRuneInString(suffix[:j])
		sr, ssize := utf8.DecodeLastRuneInString(s[:i])
		if !strings.EqualFold(string(sr), string(pr)) {
			return false
		}
		i -= ssize
		j -= psize
	}
	return true
}

// wildcardMatcher holds the literal pieces between the pattern's '*'s: a
// string matches when it starts with the first piece, ends with the last,
// and holds the others in order in between.
type wildcardMatcher struct{ pieces []string }

func (m wildcardMatcher) match(s scalar) bool {
	return s.kind == kindString && m.matchString(s.text)
}

func (m wildcardMatcher) matchString(s string) bool {
	if len(m.pieces) == 1 {
		return s == m.pieces[0]
	}
	first, last := m.pieces[0], m.pieces[len(m.pieces)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	rest := s[len(first) : len(s)-len(last)]
	for _, piece := range m.pieces[1 : len(m.pieces)-1] {
		i := strings.Index(rest, piece)
		if i < 0 {
			return false
		}
		rest = rest[i+len(piece):]
	}
	return true
}

type numericMatcher struct {
	lo, hi         float64
	loIncl, hiIncl bool
}

func (m numericMatcher) match(s scalar) bool {
	f, ok := s.number()
	if !ok {
		return false
	}
	if f < m.lo || (f == m.lo && !m.loIncl) {
		return false
	}
	if f > m.hi || (f == m.hi && !m.hiIncl) {
		return false
	}
	return true
}

type ipMatcher struct{ addr netip.Addr }

func (m ipMatcher) match(s scalar) bool {
	if s.kind != kindString {
		return false
	}
	addr, err := netip.ParseAddr(s.text)
	return err == nil && addr.Zone() == "" && addr.Unmap() == m.addr
}

type cidrMatcher struct{ prefix netip.Prefix }

func (m cidrMatcher) match(s scalar) bool {
	if s.kind != kindString {
		return false
	}
	addr, err := netip.ParseAddr(s.text)
	if err != nil {
		return false
	}
	return m.prefix.Contains(addr.Unmap())
}

// anythingButMatcher excludes exact strings or numbers (by value); any other
// leaf value matches.
type anythingButMatcher struct {
	strings map[string]bool
	numbers []float64
}

func (m anythingButMatcher) match(s scalar) bool {
	switch s.kind {
	case kindString:
		return !m.strings[s.text]
	case kindNumber:
		f, ok := s.number()
		if !ok {
			return true
		}
		for _, n := range m.numbers {
			if f == n || (math.IsNaN(f) && math.IsNaN(n)) {
				return false
			}
		}
	}
	return true
}

// anythingButStringsMatcher excludes strings matching any of its string
// operators; values that are not strings are never excluded.
type anythingButStringsMatcher struct{ excluded []matcher }

func (m anythingButStringsMatcher) match(s scalar) bool {
	if s.kind != kindString {
		return true
	}
	for _, ex := range m.excluded {
		if ex.match(s) {
			return false
		}
	}
	return true
}
