package jq

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/itchyny/gojq"
)

// regexpArgs names the builtins whose first argument is a regular
// expression, with the position of their flags argument (-1: none) by
// argument count.
var regexpArgs = map[string]map[int]int{
	"test":    {1: -1, 2: 1},
	"match":   {1: -1, 2: 1},
	"capture": {1: -1, 2: 1},
	"scan":    {1: -1, 2: 1},
	"splits":  {1: -1, 2: 1},
	"split":   {2: 1}, // split/1 splits on a plain string
	"sub":     {2: -1, 3: 2},
	"gsub":    {2: -1, 3: 2},
}

// checkRegexps compiles, as gojq will when the expression runs, every
// regular expression written as a string literal, so that a pattern Go's RE2
// cannot compile (look-around, backreferences: libjq's Oniguruma accepted
// them) or an unsupported flag is reported by Validate, not at the first
// resource. Patterns built at run time can only fail at run time.
func checkRegexps(parsed *gojq.Query) error {
	var err error
	walk(reflect.ValueOf(parsed), func(node any) bool {
		f, isFunc := node.(*gojq.Func)
		if !isFunc {
			return true
		}
		flagsAt, ok := regexpArgs[f.Name][len(f.Args)]
		if !ok {
			return true
		}
		re, isLiteral := stringLiteral(f.Args[0])
		if !isLiteral {
			return true
		}
		flags := ""
		if flagsAt >= 0 {
			if flags, isLiteral = stringLiteral(f.Args[flagsAt]); !isLiteral {
				return true
			}
		}
		err = compileLikeGojq(re, flags)
		return err == nil
	})
	return err
}

// compileLikeGojq follows gojq's compileRegexp: flags g, i and m only; i is
// (?i), m is (?s).
func compileLikeGojq(re, flags string) error {
	_, err := compileGojqRegexp(re, flags)
	return err
}

func compileGojqRegexp(re, flags string) (*regexp.Regexp, error) {
	if strings.ContainsFunc(flags, func(r rune) bool { return r != 'g' && r != 'i' && r != 'm' }) {
		return nil, fmt.Errorf("unsupported regular expression flag: %q (gojq supports g, i and m)", flags)
	}
	if strings.ContainsRune(flags, 'i') {
		re = "(?i)" + re
	}
	if strings.ContainsRune(flags, 'm') {
		re = "(?s)" + re
	}
	compiled, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %v (Go's RE2 syntax: no look-around, no backreferences)", re, err)
	}
	return compiled, nil
}

// stringLiteral reports the value of a query that is a plain string
// literal, without interpolation or anything applied to it.
func stringLiteral(q *gojq.Query) (string, bool) {
	if q == nil || q.Term == nil || q.Left != nil || q.Right != nil || len(q.FuncDefs) > 0 {
		return "", false
	}
	t := q.Term
	if t.Type != gojq.TermTypeString || t.Str == nil || len(t.Str.Queries) > 0 || len(t.SuffixList) > 0 {
		return "", false
	}
	return t.Str.Str, true
}

var (
	funcType   = reflect.TypeFor[gojq.Func]()
	keyValType = reflect.TypeFor[gojq.ObjectKeyVal]()
)

// walk calls visit for every function call (*gojq.Func) and object entry
// (*gojq.ObjectKeyVal) in gojq's syntax tree. It walks the tree generically
// (every pointer, struct and slice) so that it stays complete whatever node
// types a gojq release adds. visit returns false to stop the walk.
func walk(v reflect.Value, visit func(node any) bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		if v.Kind() == reflect.Pointer && (v.Type().Elem() == funcType || v.Type().Elem() == keyValType) {
			if !visit(v.Interface()) {
				return false
			}
		}
		return walk(v.Elem(), visit)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !walk(v.Field(i), visit) {
				return false
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if !walk(v.Index(i), visit) {
				return false
			}
		}
	}
	return true
}
