package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Pattern is a compiled EventBridge event pattern. It is immutable and safe
// for concurrent use.
type Pattern struct {
	root *objectNode
}

// CompileError is a pattern that EventBridge would refuse. Path points into
// the pattern in the notation `detail.eventName[1]`; it is empty for a
// problem with the pattern as a whole.
type CompileError struct {
	Path string
	Msg  string
}

func (e *CompileError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// operatorNames are the keys that make an object inside a leaf array an
// operator. event-ruler also uses them to decide that "$or" is not the Or
// primitive when its alternatives use them as keys.
var operatorNames = map[string]bool{
	"prefix": true, "suffix": true, "equals-ignore-case": true, "wildcard": true,
	"anything-but": true, "numeric": true, "cidr": true, "exists": true, "exact": true,
}

// Compile validates and compiles an event pattern. raw is the pattern's JSON
// text ([]byte, json.RawMessage or string) or an already decoded value such
// as map[string]any (numbers as json.Number, float64 or integers).
func Compile(raw any) (*Pattern, error) {
	doc, err := decodeJSONish(raw)
	if err != nil {
		return nil, &CompileError{Msg: "pattern is not valid JSON: " + err.Error()}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &CompileError{Msg: fmt.Sprintf("pattern must be a JSON object, got %s", jsonKind(doc))}
	}
	root, err := compileObject(obj, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known at build time; it panics on error.
func MustCompile(raw any) *Pattern {
	p, err := Compile(raw)
	if err != nil {
		panic(err)
	}
	return p
}

// decodeJSONish turns JSON text or a decoded value into the canonical form
// used here: map[string]any, []any, string, json.Number, bool, nil.
func decodeJSONish(raw any) (any, error) {
	switch v := raw.(type) {
	case []byte:
		return decodeJSON(v)
	case json.RawMessage:
		return decodeJSON(v)
	case string:
		return decodeJSON([]byte(v))
	default:
		// Round-trip decoded values through JSON so that every number is a
		// json.Number carrying the text encoding/json would write for it.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return decodeJSON(b)
	}
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

func errAt(path, format string, args ...any) error {
	return &CompileError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compileObject(obj map[string]any, path string) (*objectNode, error) {
	if len(obj) == 0 {
		return nil, errAt(path, "empty object: name at least one field")
	}
	node := &objectNode{}
	for _, key := range sortedKeys(obj) {
		val := obj[key]
		p := childPath(path, key)
		if key == "$or" && isOrPrimitive(val) {
			alts := val.([]any)
			if len(alts) < 2 {
				return nil, errAt(p, "$or needs at least two alternatives, got %d", len(alts))
			}
			var group []*objectNode
			for i, alt := range alts {
				n, err := compileObject(alt.(map[string]any), indexPath(p, i))
				if err != nil {
					return nil, err
				}
				group = append(group, n)
			}
			node.ors = append(node.ors, group)
			continue
		}
		switch v := val.(type) {
		case map[string]any:
			child, err := compileObject(v, p)
			if err != nil {
				return nil, err
			}
			node.fields = append(node.fields, field{name: key, child: child})
		case []any:
			lf, err := compileLeaf(v, p)
			if err != nil {
				return nil, err
			}
			node.fields = append(node.fields, field{name: key, leaf: lf})
		default:
			return nil, errAt(p, "match values must be in an array, got %s", jsonKind(val))
		}
	}
	return node, nil
}

// isOrPrimitive reports whether a "$or" value is event-ruler's Or primitive
// rather than an ordinary field that happens to be named "$or": an array
// whose elements are all objects and none of them uses an operator name.
func isOrPrimitive(v any) bool {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	for _, el := range arr {
		obj, ok := el.(map[string]any)
		if !ok {
			return false
		}
		for k := range obj {
			if operatorNames[k] {
				return false
			}
		}
	}
	return true
}

func compileLeaf(values []any, path string) (*leaf, error) {
	if len(values) == 0 {
		return nil, errAt(path, "empty array: list at least one value to match")
	}
	lf := &leaf{}
	for i, v := range values {
		p := indexPath(path, i)
		switch x := v.(type) {
		case string:
			lf.matchers = append(lf.matchers, stringMatcher(x))
		case json.Number:
			lf.matchers = append(lf.matchers, exactMatcher{want: scalar{kind: kindNumber, text: x.String()}})
		case bool:
			lf.matchers = append(lf.matchers, exactMatcher{want: boolScalar(x)})
		case nil:
			lf.matchers = append(lf.matchers, exactMatcher{want: scalar{kind: kindNull, text: "null"}})
		case []any:
			return nil, errAt(p, "nested arrays are not allowed in a match list")
		case map[string]any:
			if len(x) != 1 {
				return nil, errAt(p, "an operator object must have exactly one key, got %d", len(x))
			}
			for op, arg := range x {
				if op == "exists" {
					b, ok := arg.(bool)
					if !ok {
						return nil, errAt(childPath(p, op), "exists takes true or false, got %s", jsonKind(arg))
					}
					lf.exists = append(lf.exists, b)
					continue
				}
				m, err := compileOperator(op, arg, childPath(p, op))
				if err != nil {
					return nil, err
				}
				lf.matchers = append(lf.matchers, m)
			}
		default:
			return nil, errAt(p, "unsupported value of type %s", jsonKind(v))
		}
	}
	return lf, nil
}

func compileOperator(op string, arg any, path string) (matcher, error) {
	switch op {
	case "exact":
		s, ok := arg.(string)
		if !ok {
			return nil, errAt(path, "exact takes a string, got %s", jsonKind(arg))
		}
		return stringMatcher(s), nil
	case "prefix", "suffix":
		s, fold, err := stringOrIgnoreCase(arg, path, op)
		if err != nil {
			return nil, err
		}
		if op == "prefix" {
			return prefixMatcher{prefix: s, fold: fold}, nil
		}
		return suffixMatcher{suffix: s, fold: fold}, nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, errAt(path, "equals-ignore-case takes a string, got %s", jsonKind(arg))
		}
		return ignoreCaseMatcher{want: s}, nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, errAt(path, "wildcard takes a string, got %s", jsonKind(arg))
		}
		w, err := compileWildcard(s)
		if err != nil {
			return nil, errAt(path, "%v", err)
		}
		return w, nil
	case "numeric":
		return compileNumeric(arg, path)
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return nil, errAt(path, "cidr takes a string such as \"10.0.0.0/24\", got %s", jsonKind(arg))
		}
		prefix, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, errAt(path, "invalid CIDR %q: %v", s, err)
		}
		// event-ruler refuses a block of one address (/32, /128): an exact
		// string match does that job.
		if prefix.Bits() == prefix.Addr().BitLen() {
			return nil, errAt(path, "CIDR %q covers a single address; mask bits must be below %d (match the address as a string instead)", s, prefix.Addr().BitLen())
		}
		return cidrMatcher{prefix: prefix.Masked()}, nil
	case "anything-but":
		return compileAnythingBut(arg, path)
	}
	return nil, errAt(strings.TrimSuffix(path, "."+op), "unknown operator %q", op)
}

// stringMatcher matches a string exactly; a string that is an IP address
// also matches other spellings of that address (2001:db8::1 and
// 2001:0db8:0:0::1), as event-ruler turns such values into IP ranges.
func stringMatcher(s string) matcher {
	if addr, err := netip.ParseAddr(s); err == nil && addr.Zone() == "" {
		return ipMatcher{addr: addr.Unmap()}
	}
	return exactMatcher{want: scalar{kind: kindString, text: s}}
}

// stringOrIgnoreCase reads the operand of prefix/suffix: a string, or
// {"equals-ignore-case": string}.
func stringOrIgnoreCase(arg any, path, op string) (string, bool, error) {
	switch x := arg.(type) {
	case string:
		return x, false, nil
	case map[string]any:
		if len(x) == 1 {
			if s, ok := x["equals-ignore-case"].(string); ok {
				return s, true, nil
			}
		}
		return "", false, errAt(path, "%s takes a string or {\"equals-ignore-case\": string}", op)
	}
	return "", false, errAt(path, "%s takes a string, got %s", op, jsonKind(arg))
}

func compileNumeric(arg any, path string) (matcher, error) {
	arr, ok := arg.([]any)
	if !ok {
		return nil, errAt(path, "numeric takes an array such as [\">\", 0, \"<=\", 5], got %s", jsonKind(arg))
	}
	if len(arr) != 2 && len(arr) != 4 {
		return nil, errAt(path, "numeric takes one comparison or a lower and an upper bound, got %d elements", len(arr))
	}
	m := numericMatcher{lo: math.Inf(-1), hi: math.Inf(1)}
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return nil, errAt(indexPath(path, i), "expected an operator (=, <, <=, >, >=), got %s", jsonKind(arr[i]))
		}
		num, ok := arr[i+1].(json.Number)
		if !ok {
			return nil, errAt(indexPath(path, i+1), "expected a number after %q, got %s", op, jsonKind(arr[i+1]))
		}
		f, err := strconv.ParseFloat(num.String(), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, errAt(indexPath(path, i+1), "number %s is out of range", num)
		}
		switch {
		case op == "=" && len(arr) == 2:
			m.lo, m.hi, m.loIncl, m.hiIncl = f, f, true, true
		case (op == ">" || op == ">=") && i == 0:
			m.lo, m.loIncl = f, op == ">="
		case (op == "<" || op == "<=") && (i == 2 || len(arr) == 2):
			m.hi, m.hiIncl = f, op == "<="
		case op == "=" || op == "<" || op == "<=" || op == ">" || op == ">=":
			return nil, errAt(indexPath(path, i), "%q cannot appear here: use one comparison, or a lower bound (>, >=) followed by an upper bound (<, <=)", op)
		default:
			return nil, errAt(indexPath(path, i), "unknown numeric operator %q", op)
		}
	}
	if len(arr) == 4 && !(m.lo < m.hi) {
		return nil, errAt(path, "lower bound %v must be below upper bound %v", m.lo, m.hi)
	}
	return m, nil
}

func compileAnythingBut(arg any, path string) (matcher, error) {
	switch x := arg.(type) {
	case string:
		return anythingButMatcher{strings: map[string]bool{x: true}}, nil
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return nil, errAt(path, "number %s is out of range", x)
		}
		return anythingButMatcher{numbers: []float64{f}}, nil
	case []any:
		if len(x) == 0 {
			return nil, errAt(path, "anything-but list must not be empty")
		}
		m := anythingButMatcher{}
		for i, el := range x {
			switch v := el.(type) {
			case string:
				if m.numbers != nil {
					return nil, errAt(indexPath(path, i), "anything-but list must hold only strings or only numbers")
				}
				if m.strings == nil {
					m.strings = map[string]bool{}
				}
				m.strings[v] = true
			case json.Number:
				if m.strings != nil {
					return nil, errAt(indexPath(path, i), "anything-but list must hold only strings or only numbers")
				}
				f, err := strconv.ParseFloat(v.String(), 64)
				if err != nil {
					return nil, errAt(indexPath(path, i), "number %s is out of range", v)
				}
				m.numbers = append(m.numbers, f)
			default:
				return nil, errAt(indexPath(path, i), "anything-but list takes strings or numbers, got %s", jsonKind(el))
			}
		}
		return m, nil
	case map[string]any:
		if len(x) != 1 {
			return nil, errAt(path, "anything-but object must have exactly one key (prefix, suffix, equals-ignore-case or wildcard), got %d", len(x))
		}
		for op, operand := range x {
			p := childPath(path, op)
			switch op {
			case "prefix", "suffix", "equals-ignore-case", "wildcard":
			default:
				return nil, errAt(path, "unknown anything-but operator %q", op)
			}
			var list []string
			switch v := operand.(type) {
			case string:
				list = []string{v}
			case []any:
				if len(v) == 0 {
					return nil, errAt(p, "list must not be empty")
				}
				for i, el := range v {
					s, ok := el.(string)
					if !ok {
						return nil, errAt(indexPath(p, i), "expected a string, got %s", jsonKind(el))
					}
					list = append(list, s)
				}
			default:
				return nil, errAt(p, "expected a string or a list of strings, got %s", jsonKind(operand))
			}
			m := anythingButStringsMatcher{}
			for i, s := range list {
				switch op {
				case "prefix", "suffix":
					if s == "" {
						return nil, errAt(p, "anything-but %s must not be empty", op)
					}
					if op == "prefix" {
						m.excluded = append(m.excluded, prefixMatcher{prefix: s})
					} else {
						m.excluded = append(m.excluded, suffixMatcher{suffix: s})
					}
				case "equals-ignore-case":
					m.excluded = append(m.excluded, ignoreCaseMatcher{want: s})
				case "wildcard":
					w, err := compileWildcard(s)
					if err != nil {
						if len(list) > 1 {
							p = indexPath(p, i)
						}
						return nil, errAt(p, "%v", err)
					}
					m.excluded = append(m.excluded, w)
				}
			}
			return m, nil
		}
	}
	return nil, errAt(path, "anything-but takes a string, a number, a list of either, or an object, got %s", jsonKind(arg))
}

// compileWildcard splits a wildcard pattern into literal pieces around each
// unescaped '*'. `\*` is a literal asterisk and `\\` a literal backslash.
func compileWildcard(s string) (wildcardMatcher, error) {
	var pieces []string
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return wildcardMatcher{}, fmt.Errorf("wildcard %q: a backslash may only escape '*' or '\\' (at byte %d)", s, i)
			}
			cur.WriteByte(s[i+1])
			i++
			prevStar = false
		case '*':
			if prevStar {
				return wildcardMatcher{}, fmt.Errorf("wildcard %q: consecutive '*' are not allowed (at byte %d)", s, i)
			}
			pieces = append(pieces, cur.String())
			cur.Reset()
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	pieces = append(pieces, cur.String())
	return wildcardMatcher{pieces: pieces}, nil
}
