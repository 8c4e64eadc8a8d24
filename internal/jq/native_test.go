package jq

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// gojqFirst is First on gojq alone, the reference the native path must match.
func gojqFirst(ctx context.Context, q *Query, input any) (value any, ok bool, err error) {
	err = q.each(ctx, input, func(v any) bool {
		value, ok = v, true
		return false
	})
	return value, ok, err
}

// nativeDocs are inputs of every JSON type, Cloud Control documents among
// them, with the number types the decoders produce (int, float64, *big.Int,
// json.Number).
var nativeDocs = []string{
	`null`, `true`, `0`, `"s"`, `[]`, `{}`, `[1, "a", null, {"Key": "k", "Value": 1}]`,
	`{"Name": "fn-1", "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:fn-1", "Role": null,
	  "MemorySize": 256, "Timeout": 3.5, "State": "Active", "EphemeralStorage": {"Size": 512},
	  "Architectures": ["arm64"], "Environment": {"Variables": {"A": "1"}},
	  "Tags": [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "x"}]}`,
	`{"Name": 5, "Arn": 7, "Role": "arn:aws:iam::1:role/r", "State": "ÄCTIVE", "Tags": "t", "Environment": [1]}`,
	`{"Name": "", "Arn": "", "Tags": [], "Cluster": "arn:aws:ecs:eu-west-1:1:cluster/c", "Big": 123456789012345678901234567890}`,
	`{"Tags": [{"Key": 1, "Value": 2}], "Arn": null, "Engine": "docdb", "DBInstanceIdentifier": "a:b:c:d", "Subscription": [{"Protocol": "sqs", "Endpoint": "arn:aws:sqs:eu-west-1:1:q"}, {"Protocol": "email"}]}`,
	`{"Tags": [{"Key": "a", "Value": null}, null, {"Key": "b", "Value": [1]}], "Arn": "no-colons"}`,
	`{"Tags": [["x"], ["y"]], "Layers": ["a", "b"], "FifoQueue": false, "Description": "a\u00e9\ud83d\ude00"}`,
}

// nativeExprs are the mapping expressions of the published configs and
// more, each with whether it has a native path.
var nativeExprs = []struct {
	expr   string
	native bool
}{
	{`.Name`, true},
	{`.`, true},
	{`.EphemeralStorage.Size`, true},
	{`."Name"`, true},
	{`.["Name"]`, true},
	{`.Architectures[0]`, true},
	{`.Architectures[-1]`, true},
	{`.Tags[5]`, true},
	{`.Name?`, true},
	{`"https://console.aws.amazon.com/go/view?arn=" + .Arn`, true},
	{`.Role | if . == null then null else "https://console.aws.amazon.com/go/view?arn=" + . end`, true},
	{`.Arn | split(":")[4]`, true},
	{`.Arn | split(":") | .[3]`, true},
	{`.Arn | split(":")[-9]`, true},
	{`.Arn | split("")[1]`, true},
	{`.Arn | split(":")[0:2]`, false},
	{`.Cluster | split("/")[-1]`, true},
	{`.Tags // [] | map({(.Key): .Value}) | add`, true},
	{`.State | ascii_downcase`, true},
	{`.State | ascii_upcase`, true},
	{`.FifoQueue // false`, true},
	{`.Subscription // [] | map(select(.Protocol == "sqs") | .Endpoint | split(":")[-1])`, true},
	{`.State.Name | startswith("terminated") | not`, true},
	{`.Name | startswith("amplify") | not`, true},
	{`if .Engine == "docdb" then "https://x/" + (.DBInstanceIdentifier | split(":")[3]) + "#" + .DBInstanceIdentifier else "y" + .DBInstanceArn end`, true},
	{`"REST"`, true},
	{`null`, true},
	{`true and .FifoQueue`, true},
	{`.Arn == null or .Arn == ""`, true},
	{`.MemorySize > 100`, true},
	{`"\(.Name)-\(.MemorySize)"`, true},
	{`{name: .Name, arn: .Arn}`, true},
	{`{Name}`, true},
	{`{"a": 1, "a": 2}`, true},
	{`{a: (true or false | 1)}`, false}, // gojq fails on it (nativeQuery)
	{`select(.Name or .b | "x")`, false},
	{`(if .Name then [1] else [2] end)[0]`, false},
	{`[.Name] | if .[0] then 1 else 2 end`, true},
	{`{a: (if .Name then 1 else 2 end | 1)}`, false},
	{`[.Name]`, true},
	{`[]`, true},
	{`{}`, true},
	{`[select(.Name == "x")]`, true},
	{`.Tags | length`, true},
	{`.Name | type`, true},
	{`.Name | tostring`, true},
	{`.MemorySize | tostring`, true},
	{`.Arn | ltrimstr("arn:") | rtrimstr(":q")`, true},
	{`.Arn | endswith("fn-1")`, true},
	{`.Tags | map(.Key) | add`, true},
	{`.Layers | add`, true},
	{`try .Name.x`, true},
	{`try .Name.x catch "caught"`, true},
	{`empty`, true},
	{`if .FifoQueue then 1 elif .Name then 2 else 3 end`, true},
	{`if .FifoQueue then 1 end`, true},
	{`.Tags[]? | select(.Key == "Name") | .Value`, false},
	{`.Tags | to_entries`, false},
	{`.DefinitionString | fromjson`, false},
	{`.Placement.AvailabilityZone[:-1]`, false},
	{`.Tags | keys[] | select(startswith("port-")) | .[6:]`, false},
	{`def f: .Name; f`, false},
	{`.Name as $n | $n`, false},
	{`.a, .b`, false},
	{`.a as [$x] | $x`, false},
	{`.MemorySize + 1`, true}, // native, but gives the number to gojq
	{`[range(3)]`, false},
	{`.Name | test("fn")`, false},
	{`@base64`, false},
	{`1.5`, false},
	{`0123`, false},
}

// TestNativeMatchesGojq evaluates every expression against every document
// on both paths: where the native path answers, gojq gives the same value
// (same Go types) without an error.
func TestNativeMatchesGojq(t *testing.T) {
	if len(nativeExprs) < 60 || len(nativeDocs) < 12 {
		t.Fatalf("only %d expressions and %d documents", len(nativeExprs), len(nativeDocs))
	}
	docs := decodeDocs(t, nativeDocs)
	answered := 0
	for _, c := range nativeExprs {
		q := mustCompile(t, c.expr)
		if q.Native() != c.native {
			t.Errorf("%s: native path %v, want %v", c.expr, q.Native(), c.native)
		}
		for i, doc := range docs {
			if compareNative(t, q, doc, fmt.Sprintf("%s on document %d", c.expr, i)) {
				answered++
			}
		}
	}
	// The documents are built so that the native path answers most of the
	// time: a test where it always gave up would prove nothing.
	if answered < 300 {
		t.Errorf("the native path answered %d evaluations", answered)
	}
}

func decodeDocs(t testing.TB, texts []string) []any {
	t.Helper()
	out := make([]any, 0, len(texts)*2)
	for _, text := range texts {
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		out = append(out, intsOf(v))
		// The same document as the Cloud Control decoder could hand it:
		// json.Number where the literal is not an int.
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		var n any
		if err := d.Decode(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// intsOf turns whole float64s into ints and huge ones into *big.Int, as
// source.DecodeProperties does.
func intsOf(v any) any {
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) && v < 1<<53 && v > -(1<<53) {
			return int(v)
		}
		if v > 1<<63 {
			b, _ := new(big.Float).SetFloat64(v).Int(nil)
			return b
		}
	case []any:
		for i := range v {
			v[i] = intsOf(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = intsOf(v[k])
		}
	}
	return v
}

// compareNative runs q both ways and fails when the native answer differs
// from gojq's; it reports whether the native path answered.
func compareNative(t testing.TB, q *Query, doc any, what string) bool {
	t.Helper()
	ctx := context.Background()
	v, found, done := q.firstNative(ctx, doc)
	if !done {
		return false
	}
	w, wfound, err := gojqFirst(ctx, q, doc)
	if err != nil {
		t.Errorf("%s: native gave %#v, gojq failed: %v", what, v, err)
		return true
	}
	if found != wfound || !reflect.DeepEqual(v, w) {
		t.Errorf("%s: native gave %#v (found %v), gojq %#v (found %v)", what, v, found, w, wfound)
	}
	return true
}

// TestNativeRandom compares the two paths on random expressions of the
// native subset (and a little outside it) over random documents.
func TestNativeRandom(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("NATIVE_RANDOM_SEED"), 10, 64) // longer runs: NATIVE_RANDOM_N, _SEED
	r := rand.New(rand.NewPCG(11, 4+seed))
	docs := decodeDocs(t, nativeDocs)
	n := 3000
	if !testing.Short() && os.Getenv("NATIVE_RANDOM_N") != "" {
		n, _ = strconv.Atoi(os.Getenv("NATIVE_RANDOM_N"))
	}
	native, answered := 0, 0
	for range n {
		expr := randomExpr(r, 3)
		q, err := Compile(expr)
		if err != nil {
			continue // a generated expression may not parse (e.g. a keyword key)
		}
		if q.Native() {
			native++
		}
		for _, doc := range []any{docs[r.IntN(len(docs))], randomDoc(r, 3)} {
			if compareNative(t, q, doc, expr) {
				answered++
			}
		}
	}
	// Random operands mostly fail on each other (a number split by an
	// object), and failures are gojq's: a sixth answered is plenty.
	if native < n/3 || answered < n/6 {
		t.Errorf("of %d expressions %d had a native path, %d evaluations answered natively", n, native, answered)
	}
}

var randomKeys = []string{"Name", "Arn", "Tags", "Key", "Value", "a", "b"}

func randomExpr(r *rand.Rand, depth int) string {
	if depth == 0 {
		switch r.IntN(8) {
		case 0:
			return "."
		case 1:
			return `"` + []string{"", "a", ":", "x:y", "Ä"}[r.IntN(5)] + `"`
		case 2:
			return []string{"null", "true", "false", "0", "1", "-1", "2.5"}[r.IntN(7)]
		case 3:
			return "[]"
		case 4:
			return "{}"
		default:
			return "." + randomKeys[r.IntN(len(randomKeys))]
		}
	}
	sub := func() string { return randomExpr(r, depth-1) }
	switch r.IntN(22) {
	case 0:
		return sub() + " | " + sub()
	case 1:
		return sub() + " + " + sub()
	case 2:
		return sub() + " // " + sub()
	case 3:
		return sub() + []string{" == ", " != ", " < ", " >= "}[r.IntN(4)] + sub()
	case 4:
		return sub() + []string{" and ", " or "}[r.IntN(2)] + sub()
	case 5:
		return "if " + sub() + " then " + sub() + " else " + sub() + " end"
	case 6:
		return "(" + sub() + ")" + []string{"[0]", "[-1]", "[2]", ".Key", `["a"]`, "?"}[r.IntN(6)]
	case 7:
		return "[" + sub() + "]"
	case 8:
		return "{" + randomKeys[r.IntN(len(randomKeys))] + ": " + sub() + "}"
	case 9:
		return "{(" + sub() + "): " + sub() + "}"
	case 10:
		return "map(" + sub() + ")"
	case 11:
		return sub() + " | add"
	case 12:
		return "select(" + sub() + ")"
	case 13:
		return sub() + " | split(" + sub() + ")"
	case 14:
		return sub() + " | " + []string{"not", "length", "type", "tostring", "ascii_downcase", "ascii_upcase"}[r.IntN(6)]
	case 15:
		return sub() + " | " + []string{"startswith", "endswith", "ltrimstr", "rtrimstr"}[r.IntN(4)] + "(" + sub() + ")"
	case 16:
		return `"x\(` + sub() + `)y"`
	case 17:
		return "try " + sub()
	case 18:
		if r.IntN(2) == 0 {
			return sub() + " | .[]" // outside the subset
		}
		return sub() + " | split(" + []string{`":"`, `"/"`, `"x:"`, `""`}[r.IntN(4)] + ")" + []string{"[0]", "[1]", "[-1]", "[-3]", "[4]", ".a"}[r.IntN(6)]
	default:
		return "." + randomKeys[r.IntN(len(randomKeys))] + " | " + sub()
	}
}

func randomDoc(r *rand.Rand, depth int) any {
	if depth == 0 || r.IntN(3) == 0 {
		switch r.IntN(8) {
		case 0:
			return nil
		case 1:
			return r.IntN(2) == 0
		case 2:
			return r.IntN(5) - 2
		case 3:
			return 0.5
		case 4:
			return json.Number("1e400")
		default:
			return []string{"", "a", "x:y:z", "Ä b", "arn:aws:x:eu-west-1:1:y"}[r.IntN(5)]
		}
	}
	if r.IntN(2) == 0 {
		out := make([]any, r.IntN(4))
		for i := range out {
			out[i] = randomDoc(r, depth-1)
		}
		return out
	}
	out := map[string]any{}
	for range r.IntN(5) {
		out[randomKeys[r.IntN(len(randomKeys))]] = randomDoc(r, depth-1)
	}
	return out
}

// FuzzNative holds the native path to gojq on arbitrary expressions and
// documents.
func FuzzNative(f *testing.F) {
	for i, c := range nativeExprs {
		f.Add(c.expr, nativeDocs[i%len(nativeDocs)])
	}
	f.Fuzz(func(t *testing.T, expr, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		q, err := Compile(expr)
		if err != nil || !q.Native() {
			return
		}
		compareNative(t, q, intsOf(v), expr)
	})
}

// TestNativeLimits: what the guards refuse in gojq, the native path gives
// up on, so First still fails with ErrLimit.
func TestNativeLimits(t *testing.T) {
	big := strings.Repeat("x", 8<<21)
	doc := map[string]any{"a": big, "b": big, "list": []any{big, big}}
	for _, expr := range []string{`.a + .b`, `.a == .b`, `"\(.a)\(.b)"`, `.list | add`, `.a | split("")`} {
		q := mustCompile(t, expr)
		if !q.Native() {
			t.Fatalf("%s has no native path", expr)
		}
		if _, _, done := q.firstNative(t.Context(), doc); done {
			t.Errorf("%s: the native path answered past the bounds", expr)
		}
		if _, _, err := q.First(t.Context(), doc); err == nil {
			t.Errorf("%s: no error past the bounds", expr)
		}
	}
}

// TestNativeCancelled: an ended context is gojq's to report, as before.
func TestNativeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := mustCompile(t, `.a`).First(ctx, map[string]any{}); err == nil {
		t.Fatal("no error from a cancelled context")
	}
}
