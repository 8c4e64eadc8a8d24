package jq

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Estimates of what gojq allocates per element, on 64-bit platforms. They
// err on the large side; what matters is the order of magnitude.
const (
	slotBytes  = 16  // one element of a []any
	entryBytes = 64  // one entry of a map[string]any with its share of buckets
	boxBytes   = 16  // a string or number stored in an interface
	matchBytes = 320 // one match object of match/scan/splits/sub (offset, length, string, captures)
)

// guardFunctions are the compiler options that define every guard the
// rewriter calls. Each guard takes the values its builtin is about to use,
// the evaluation's budget last, charges (or checks) the size of what the
// builtin will build, and passes its input through unchanged.
var guardFunctions = []gojq.CompilerOption{
	gojq.WithFunction("#add", 3, 3, guardAdd),
	gojq.WithFunction("#multiply", 3, 3, guardMultiply),
	gojq.WithFunction("#divide", 3, 3, guardDivide),
	gojq.WithFunction("#tojson", 1, 1, guardToJSON),
	gojq.WithFunction("#tostring", 1, 1, guardToString),
	gojq.WithFunction("#format", 2, 2, guardFormat),
	gojq.WithFunction("#join", 2, 2, guardJoin),
	gojq.WithFunction("#add0", 1, 1, guardAddAll),
	gojq.WithFunction("#flatten", 1, 2, guardFlatten),
	gojq.WithFunction("#transpose", 1, 1, guardTranspose),
	gojq.WithFunction("#split", 2, 2, guardSplit),
	gojq.WithFunction("#explode", 1, 1, guardExplode),
	gojq.WithFunction("#implode", 1, 1, guardImplode),
	gojq.WithFunction("#indices", 2, 2, guardIndices),
	gojq.WithFunction("#fromjson", 1, 1, guardFromJSON),
	gojq.WithFunction("#setpath", 3, 3, guardSetpath),
	gojq.WithFunction("#index", 1, 1, guardIndex),
	gojq.WithFunction("#regex", 4, 4, guardRegexp),
	gojq.WithFunction("#strftime", 2, 2, guardStrftime),
}

var errNoBudget = errors.New("jq guard called without an evaluation budget")

// budgetOf is the evaluation a guard runs in: its last argument.
func budgetOf(args []any) *evaluation {
	e, _ := args[len(args)-1].(*evaluation)
	return e
}

// passOrFail returns v when err is nil: a guard's output is its input.
func passOrFail(v any, err error) any {
	if err != nil {
		return err
	}
	return v
}

func withBudget(args []any, fn func(e *evaluation) error) error {
	e := budgetOf(args)
	if e == nil {
		return errNoBudget
	}
	return fn(e)
}

func guardAdd(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		return e.charge("adding", concatBytes(args[0], args[1]))
	}))
}

// concatBytes is what l + r allocates when both are strings, arrays or
// objects (gojq returns the other operand unchanged when one is empty).
func concatBytes(l, r any) int64 {
	switch l := l.(type) {
	case string:
		if r, ok := r.(string); ok && l != "" && r != "" {
			return int64(len(l)) + int64(len(r))
		}
	case []any:
		if r, ok := r.([]any); ok && len(l) > 0 && len(r) > 0 {
			return slotBytes * (int64(len(l)) + int64(len(r)))
		}
	case map[string]any:
		if r, ok := r.(map[string]any); ok && len(l) > 0 && len(r) > 0 {
			return entryBytes * (int64(len(l)) + int64(len(r)))
		}
	}
	return 0
}

func guardMultiply(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		l, r := args[0], args[1]
		if s, ok := l.(string); ok {
			return e.charge("repeating a string", repeatBytes(s, r))
		}
		if s, ok := r.(string); ok {
			return e.charge("repeating a string", repeatBytes(s, l))
		}
		if lm, ok := l.(map[string]any); ok {
			if rm, ok := r.(map[string]any); ok {
				limit := (e.limit - e.spent()) / entryBytes
				return e.charge("merging objects", entryBytes*mergeEntries(lm, rm, limit+1))
			}
		}
		return e.charge("multiplying numbers", bigProductBytes(l, r))
	}))
}

// repeatBytes is the length of s * n as gojq computes it: nothing for n < 1
// (null or ""), len(s) times the integer part of n otherwise, capped where
// gojq refuses the result itself.
func repeatBytes(s string, n any) int64 {
	f, ok := gojq.ToFloat64(n)
	if !ok || math.IsNaN(f) || f < 1 {
		return 0
	}
	times := min(f, math.MaxInt32)
	return int64(min(float64(len(s))*math.Floor(times), math.MaxInt64/2))
}

// mergeEntries counts the map entries a deep merge of l and r creates: a new
// map for the top level and for every key where both hold objects. It stops
// counting past limit, since objects can share values and the count, like
// the merge, can then be exponential in the memory they occupy.
func mergeEntries(l, r map[string]any, limit int64) int64 {
	n := int64(len(l) + len(r))
	for k, rv := range r {
		if n > limit {
			return n
		}
		lm, ok := l[k].(map[string]any)
		if !ok {
			continue
		}
		if rm, ok := rv.(map[string]any); ok {
			n += mergeEntries(lm, rm, limit-n)
		}
	}
	return n
}

// bigProductBytes is the size of a product of integers that overflows int:
// squaring a big integer repeatedly doubles its size at each step.
func bigProductBytes(l, r any) int64 {
	bits := func(v any) int64 {
		switch v := v.(type) {
		case *big.Int:
			return int64(v.BitLen())
		case json.Number:
			return int64(len(v)) * 4 // at most 4 bits per decimal digit
		}
		return 64
	}
	_, lbig := l.(*big.Int)
	_, rbig := r.(*big.Int)
	if !lbig && !rbig {
		return 0
	}
	// Karatsuba multiplication allocates temporaries of about three times
	// the product, in a call long enough to span samples.
	return 4 * (bits(l) + bits(r)) / 8
}

func guardDivide(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		s, ok := args[0].(string)
		sep, ok2 := args[1].(string)
		if !ok || !ok2 {
			return nil
		}
		return e.charge("splitting a string", splitBytes(s, sep))
	}))
}

// splitBytes is what splitting s on sep allocates: a string and a slot per
// piece; an empty separator splits into characters.
func splitBytes(s, sep string) int64 {
	if s == "" {
		return 0
	}
	var pieces int
	if sep == "" {
		pieces = utf8.RuneCountInString(s)
	} else {
		pieces = strings.Count(s, sep) + 1
	}
	return int64(pieces) * (slotBytes + boxBytes + slotBytes)
}

func guardSplit(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		s, ok := v.(string)
		sep, ok2 := args[0].(string)
		if !ok || !ok2 {
			return nil
		}
		return e.charge("splitting a string", splitBytes(s, sep))
	}))
}

func guardToJSON(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		return chargeText(e, "encoding JSON", v, 1)
	}))
}

func guardToString(v any, args []any) any {
	if _, isString := v.(string); isString {
		return v // tostring returns a string as it is
	}
	return guardToJSON(v, args)
}

// formatFactors is how much larger than a value's JSON its text in a format
// can be, at worst: @html turns " into &quot;, @uri a byte into %XX, @sh
// ' into '\”.
var formatFactors = map[string]int64{
	"@text": 1, "@json": 1, "@html": 6, "@uri": 3, "@urid": 1, "@csv": 2, "@tsv": 2,
	"@sh": 4, "@base64": 2, "@base64d": 1, "@base32": 2, "@base32d": 1,
}

func guardFormat(v any, args []any) any {
	format, _ := args[0].(string)
	if _, isString := v.(string); isString && format == "@text" {
		return v
	}
	factor, ok := formatFactors[format]
	if !ok {
		factor = 1 // gojq reports the unknown format itself
	}
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		return chargeText(e, "formatting "+format, v, factor)
	}))
}

// chargeText charges the text of v in a format factor times larger than its
// JSON, twice over: the builder that writes it grows by doubling.
func chargeText(e *evaluation, what string, v any, factor int64) error {
	remaining := e.limit - e.spent()
	limit := remaining / (2 * factor)
	return e.charge(what, 2*factor*jsonSize(v, limit+1))
}

// jsonSize is the length of v's JSON text, or a number above limit once it
// exceeds it. Values may share parts ([$x, $x]), so the text can be
// exponentially larger than the memory holding the value; stopping at limit
// bounds the walk, since every node it visits adds at least a byte.
func jsonSize(v any, limit int64) int64 {
	var n int64
	var visit func(v any) bool
	visit = func(v any) bool {
		switch v := v.(type) {
		case nil:
			n += 4
		case bool:
			n += 5
		case string:
			n += int64(len(v)) + 2
		case int, float64:
			n += 24
		case json.Number:
			n += int64(len(v))
		case *big.Int:
			n += int64(v.BitLen())/3 + 2
		case []any:
			n += 2
			for _, x := range v {
				n++
				if !visit(x) {
					return false
				}
			}
		case map[string]any:
			n += 2
			for k, x := range v {
				n += int64(len(k)) + 4
				if !visit(x) {
					return false
				}
			}
		default:
			n += 24
		}
		return n <= limit
	}
	visit(v)
	return n
}

func guardJoin(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		xs, ok := v.([]any)
		sep, ok2 := args[0].(string)
		if !ok || !ok2 {
			return nil
		}
		n := int64(len(sep)) * int64(len(xs))
		for _, x := range xs {
			if s, ok := x.(string); ok {
				n += int64(len(s))
			} else {
				n += 24
			}
		}
		return e.charge("joining strings", 2*n)
	}))
}

// guardAddAll charges add/0 of an array, which concatenates its strings,
// arrays or objects (an array holding the same large string many times adds
// up to far more than its own memory).
func guardAddAll(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		var xs []any
		switch v := v.(type) {
		case []any:
			xs = v
		case map[string]any:
			for _, x := range v {
				xs = append(xs, x)
			}
		default:
			return nil
		}
		var n int64
		for _, x := range xs {
			switch x := x.(type) {
			case string:
				n += int64(len(x))
			case []any:
				n += slotBytes * int64(len(x))
			case map[string]any:
				n += entryBytes * int64(len(x))
			}
		}
		return e.charge("adding the elements of an array", 2*n)
	}))
}

func guardFlatten(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		xs, ok := v.([]any)
		if !ok {
			return nil
		}
		depth := math.MaxInt
		if len(args) == 2 {
			if d, ok := gojq.ToInt(args[0]); ok && d >= 0 {
				depth = d
			}
		}
		limit := (e.limit - e.spent()) / slotBytes
		return e.charge("flattening an array", 2*slotBytes*countLeaves(xs, depth, limit+1))
	}))
}

// countLeaves counts the elements flatten(depth) yields, up to limit.
func countLeaves(xs []any, depth int, limit int64) int64 {
	var n int64
	for _, x := range xs {
		if ys, ok := x.([]any); ok && depth > 0 {
			n += countLeaves(ys, depth-1, limit-n)
		} else {
			n++
		}
		if n > limit {
			break
		}
	}
	return n
}

func guardTranspose(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		xs, ok := v.([]any)
		if !ok {
			return nil
		}
		longest := 0
		for _, x := range xs {
			if ys, ok := x.([]any); ok {
				longest = max(longest, len(ys))
			}
		}
		return e.charge("transposing an array", slotBytes*int64(longest)*(int64(len(xs))+2))
	}))
}

func guardExplode(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return e.charge("exploding a string", (slotBytes+8)*int64(utf8.RuneCountInString(s)))
	}))
}

func guardImplode(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		xs, ok := v.([]any)
		if !ok {
			return nil
		}
		return e.charge("imploding code points", 2*utf8.UTFMax*int64(len(xs)))
	}))
}

func guardIndices(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		switch s := v.(type) {
		case string:
			if sub, ok := args[0].(string); ok && sub != "" {
				return e.charge("finding indices", 2*slotBytes*int64(strings.Count(s, sub)))
			}
		case []any:
			return e.charge("finding indices", 2*slotBytes*int64(len(s)))
		}
		return nil
	}))
}

// guardFromJSON charges the value parsed from a string: small JSON texts
// such as [[],[],[]] make a slice and an interface per two or three bytes.
func guardFromJSON(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return e.charge("parsing JSON", 24*int64(len(s)))
	}))
}

// guardSetpath checks the array indices of a path: setpath([n]; x) on a
// shorter array (or null) allocates n elements.
func guardSetpath(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		path, ok := args[0].([]any)
		if !ok {
			return nil
		}
		for _, p := range path {
			if err := checkIndex(e, p); err != nil {
				return err
			}
		}
		return nil
	}))
}

// guardIndex checks an array index on the left of an assignment.
func guardIndex(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error { return checkIndex(e, v) }))
}

// checkIndex refuses an index (or slice bound) whose array would not fit the
// budget. It only checks: the index usually falls inside an existing array.
func checkIndex(e *evaluation, p any) error {
	if m, ok := p.(map[string]any); ok { // a slice {"start": n, "end": m}
		for _, k := range []string{"start", "end"} {
			if err := checkIndex(e, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	f, ok := gojq.ToFloat64(p)
	if !ok || !(f > 0) {
		return nil
	}
	return e.fits("setting an array index", int64(min(f, math.MaxInt64/2/slotBytes))*slotBytes)
}

// guardRegexp counts the matches of a global search before gojq builds an
// object for each. Arguments: regular expression, flags, whether the builtin
// always matches globally, budget.
func guardRegexp(v any, args []any) any {
	re, flags := args[0], args[1]
	if pair, ok := re.([]any); ok && len(pair) > 0 {
		// match([re, flags]) and capture([re, flags]), jq's array form.
		re, flags = pair[0], nil
		if len(pair) > 1 {
			flags = pair[1]
		}
	}
	return checkMatches(v, re, flags, args)
}

func checkMatches(v, reArg, flagsArg any, args []any) any {
	s, ok := v.(string)
	re, ok2 := reArg.(string)
	if !ok || !ok2 {
		return v // gojq reports the type error
	}
	flags, _ := flagsArg.(string)
	global, _ := args[2].(bool)
	if !global && !strings.ContainsRune(flags, 'g') {
		return v // one match at most
	}
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		compiled, err := compileGojqRegexp(re, flags)
		if err != nil {
			return nil // gojq reports it, in its own words
		}
		perMatch := int64(matchBytes * (1 + compiled.NumSubexp()))
		limit := (e.limit - e.spent()) / perMatch
		found := compiled.FindAllStringIndex(s, int(max(1, min(limit+1, math.MaxInt32))))
		return e.charge("matching a regular expression", perMatch*int64(len(found)))
	}))
}

// guardStrftime charges the text of a time format: one directive of two
// characters (%c) can expand to twenty-four.
func guardStrftime(v any, args []any) any {
	return passOrFail(v, withBudget(args, func(e *evaluation) error {
		format, ok := args[0].(string)
		if !ok {
			return nil
		}
		return e.charge("formatting a time", 16*int64(len(format)))
	}))
}
