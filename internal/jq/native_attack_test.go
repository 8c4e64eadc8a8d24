package jq

import (
	"fmt"
	"reflect"
	"testing"
)

// attackDocs are documents chosen to split the native path from gojq:
// numbers at the edges of their types and formats, unicode and escapes,
// null, false and missing values.
var attackDocs = []string{
	`{"n": 1e300, "f": 1.0, "z": -0, "e": 1e-7, "big": 18446744073709551616, "neg": -9007199254740993, "x": 100000000000000000000, "s": "1.5"}`,
	`{"n": 0.1, "f": 3.0e2, "z": 0.0, "e": 1E+2, "big": -123456789012345678901234567890, "neg": 9007199254740993, "x": 1.7976931348623157e308, "s": ""}`,
	`{"s": "\u0000\u001f\"\\\/\b\f\n\r\t\u2028\ud83d\ude00", "u": "İstanbul ǅ ß ﬁ", "k": {"b": 1, "a": 2, "": 3, "\u00e9": 4}}`,
	`{"s": "a::b:", "u": ":", "k": null, "f": false, "t": true, "arr": [false, null, 0, ""]}`,
	`{"s": "\ud800", "u": "\udfff x", "k": {"\"": "q"}, "n": null}`,
	`{"s": "ÀÉÎõü", "u": "abc", "arr": [[], {}, "", null, false]}`,
}

var attackExprs = []string{
	`.n | tostring`, `.f | tostring`, `.z | tostring`, `.e | tostring`, `.big | tostring`, `.neg | tostring`, `.x | tostring`,
	`"\(.n)"`, `"\(.f)"`, `"\(.z)"`, `"\(.e)"`, `"\(.big)"`, `"\(.neg)"`, `"\(.x)"`, `"\(.s)"`, `"\(.k)"`, `"\(.arr)"`,
	`.k | tostring`, `.arr | tostring`, `.s | tostring`, `. | tostring`,
	`.n + "x"`, `"x" + .s`, `.s + .u`, `.n + 1`, `.big + .neg`,
	`.s | length`, `.u | length`, `.k | length`, `.n | length`, `.z | length`, `.neg | length`, `.f | length`,
	`.s | ascii_downcase`, `.u | ascii_upcase`, `.u | ascii_downcase`,
	`.s | split("")`, `.u | split("")`, `.s | split(":")`, `.s | split("::")`, `.u | split(":")`, `.s | split("")[0]`, `.s | split("")[-1]`,
	`.s | split(":")[-1]`, `.s | split("\u0000")`,
	`.f // "d"`, `.t // "d"`, `.missing // "d"`, `.n // "d"`, `.arr[0] // .arr[1] // "d"`, `(.f // false)`, `.f // .n`,
	`.s | startswith("")`, `.s | endswith("")`, `.s | ltrimstr("")`, `.s | rtrimstr(.s)`, `.u | ltrimstr("İ")`,
	`{(.s): 1}`, `{(.u): .k}`, `{a: .n, b: .missing}`, `.k | add`, `[.k] | add`, `.arr | add`, `.arr | map(. // "d")`,
	`.k[""]`, `.k["é"]`, `.k["\""]`, `.["k"]["b"]`, `.k.b`,
	`.s == .u`, `.n == .x`, `.big == .neg`, `.f == 1`, `.z == 0`, `.e < .n`, `.n > .big`, `.s < .u`, `.k == .k`,
	`.arr | type`, `.n | type`, `.big | type`, `.neg | type`,
	`if .f then 1 else 2 end`, `if .n then 1 else 2 end`, `if .arr[0] then 1 elif .arr[1] then 2 else 3 end`,
	`.s | not`, `.f | not`, `.missing | not`, `.f and .t`, `.f or .missing`,
	`.arr[4]`, `.arr[-5]`, `.arr[100]`, `.arr[-100]`, `.s[0]`, `.n[0]`, `.missing[0]`, `.missing.a.b`, `.n.a`, `try .n.a catch .`,
	`[.s, .u] | map(length)`, `.arr | map(type)`, `.arr | map(tostring)`, `.arr | length`,
	// empty where a value is expected: jq yields nothing, or drops it.
	`if empty then 1 else 2 end`, `[empty]`, `{a: empty}`, `"\(empty)"`, `empty + 1`, `.s + empty`, `select(empty)`,
	`.arr | map(select(empty))`, `.f // empty`, `empty // 1`, `.missing // empty // 3`, `[.missing // empty]`, `.f // .missing`,
	`null // null`, `false // false`, `.f // false // null`, `try empty catch 1`, `.t and empty`, `empty and .t`, `empty | not`,
	`[.missing | not]`, `.arr | map(. // empty)`, `.arr | map(.a?)`, `{(.missing): 1}`, `{(.n): 1}`, `"\(.s)\(.u)" | length`,
	`.s | split(.u)`, `.u | split(.s)`, `.s | split(.missing)`, `.missing | split(":")`, `.arr | map(length)`, `[.k] | map(add)`,
}

// TestNativeAttack: every attack expression against every attack document
// on both paths (compareNative: equal values, equal Go types, no error).
func TestNativeAttack(t *testing.T) {
	if len(attackExprs) < 120 || len(attackDocs) < 6 {
		t.Fatalf("only %d expressions and %d documents", len(attackExprs), len(attackDocs))
	}
	docs := decodeDocs(t, attackDocs)
	answered := 0
	for _, expr := range attackExprs {
		q := mustCompile(t, expr)
		for i, doc := range docs {
			if compareNative(t, q, doc, fmt.Sprintf("%s on document %d", expr, i)) {
				answered++
			}
		}
	}
	if answered < 400 {
		t.Errorf("the native path answered %d evaluations", answered)
	}
}

// batchAttackExprs are expressions that could behave otherwise inside the
// batch's combined program than alone: their own definitions, variables,
// labels, reductions and paths, next to each other and to native ones.
var batchAttackExprs = []string{
	`def f: .s; f`, `def f(x): x | length; f(.u)`, `def s: "shadow"; .s`, `.s as $s | $s + "!"`, `. as {s: $s} | $s`,
	`label $out | .arr[] | ., break $out`, `reduce (.arr // [])[] as $x (0; . + 1)`, `[paths] | length`, `first(.arr[]?)`,
	`[limit(2; .arr[]?)]`, `$__loc__`, `getpath(["k", "b"])`, `[.. | numbers] | length`, `.s, .u`, `empty`, `.[1]`,
	`. as [$a] | $a`, `try error("x") catch .`, `input_line_number`, `[splits(":")]?`, `.s | @json`, `.k | keys`,
}

// TestBatchAttack: the attack expressions, and the ones above, in one
// batch, in small batches and alone: each value the batch gives is First's.
func TestBatchAttack(t *testing.T) {
	var qs []*Query
	for _, e := range append(append([]string{}, batchAttackExprs...), attackExprs...) {
		q, err := Compile(e)
		if err != nil {
			continue // e.g. input_line_number, refused by the sandbox
		}
		qs = append(qs, q)
	}
	if len(qs) < 100 {
		t.Fatalf("only %d expressions compiled", len(qs))
	}
	batches := [][]*Query{qs}
	for i := 0; i < len(qs); i += 4 {
		batches = append(batches, qs[i:min(i+4, len(qs))])
	}
	docs := decodeDocs(t, attackDocs)
	succeeded := 0
	for bi, qs := range batches {
		b := NewBatch(qs)
		if b.program.code == nil {
			t.Errorf("batch %d did not compile", bi)
			continue
		}
		for di, doc := range docs {
			out := make([]Value, b.Len())
			var dl Deadline
			ok := b.Eval(t.Context(), &dl, doc, out)
			dl.Stop()
			failed := false
			for i, q := range qs {
				v, found, err := q.First(t.Context(), doc)
				switch {
				case err != nil:
					failed = true
				case ok && (found != out[i].Found || !reflect.DeepEqual(v, out[i].V)):
					t.Errorf("batch %d, document %d, %s: batch gave %#v (%v), First %#v (%v)", bi, di, q, out[i].V, out[i].Found, v, found)
				}
			}
			if failed && ok {
				t.Errorf("batch %d, document %d: Eval succeeded though an expression fails alone", bi, di)
			}
			if ok {
				succeeded++
			}
		}
	}
	if succeeded < len(docs) {
		t.Errorf("%d batch evaluations succeeded", succeeded)
	}
}
