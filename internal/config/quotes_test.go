package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/port-labs/port-aws-exporter/internal/jq"
)

// The expected outputs were computed with Ocean's own expression,
// re.sub(r'(^|\s)\'(?!\s|")|(?<!\s|")\'(\s|$)', r'\1"\2', s), under CPython 3.11.
var oceanQuoteCases = []struct{ in, out string }{
	{`'https://console.aws.amazon.com/go/view?arn=' + .Properties.Arn`, `"https://console.aws.amazon.com/go/view?arn=" + .Properties.Arn`},
	{`.Properties.Name`, `.Properties.Name`},
	{`'a' + 'b'`, `"a" + "b"`},
	{`'arn:aws:ec2:' + .__Region + ':' + .__AccountId + ':instance/' + .Properties.InstanceId`,
		`"arn:aws:ec2:" + .__Region + ":" + .__AccountId + ":instance/" + .Properties.InstanceId`},
	{`"it's"`, `"it's"`},
	{`"say 'hi'"`, `"say "hi'"`}, // Ocean breaks this one; so must we
	{`a' 'b`, `a" 'b`},           // the space consumed by the first match cannot open the second
	{`'`, `"`},
	{` '`, ` "`},
	{`' `, `" `},
	{`''`, `""`},
	{`'"`, `'"`},
	{`.x | if . == null then null else 'https://x/' + . end`, `.x | if . == null then null else "https://x/" + . end`},
	{"'x'\t+\t'y'", "\"x\"\t+\t\"y\""},
	{"'tab\u00a0'", "\"tab\u00a0\""},
	{"\u001c'x'\u001c", "\u001c\"x\"\u001c"}, // Python's \s includes the information separators
}

func TestOceanQuotes(t *testing.T) {
	if len(oceanQuoteCases) < 16 {
		t.Fatalf("%d cases, want at least 16", len(oceanQuoteCases))
	}
	for _, c := range oceanQuoteCases {
		if got := OceanQuotes(c.in); got != c.out {
			t.Errorf("OceanQuotes(%q) = %q, want %q", c.in, got, c.out)
		}
	}
}

// pythonBinary finds a python3 for the differential test.
func pythonBinary() string {
	for _, p := range []string{"python3", "/root/.pyenv/versions/3.11.7/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// OceanQuotes gives what Ocean's regular expression gives, under CPython's
// re, on thousands of strings built from the characters that matter.
func TestOceanQuotesAgainstPython(t *testing.T) {
	py := pythonBinary()
	if py == "" {
		if os.Getenv("REQUIRE_TEST_PEERS") == "1" || os.Getenv("CI") == "true" {
			t.Fatal("python3 not found (required because CI=true or REQUIRE_TEST_PEERS=1)")
		}
		t.Skip("python3 not found: the differential test against Ocean's regular expression needs it")
	}
	rng := rand.New(rand.NewPCG(14, 2))
	alphabet := []rune{' ', '\'', '"', 'a', '.', '\t', '\n', '\u00a0', '\x1c', '+'}
	var inputs []string
	for range 4000 {
		n := rng.IntN(12)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	var stdin bytes.Buffer
	for _, s := range inputs {
		line, _ := json.Marshal(s)
		stdin.Write(append(line, '\n'))
	}
	script := `import sys, re, json
for line in sys.stdin:
    s = json.loads(line)
    print(json.dumps(re.sub(r'(^|\s)\'(?!\s|")|(?<!\s|")\'(\s|$)', r'\1"\2', s)))`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		var want string
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if got := OceanQuotes(inputs[i]); got != want {
			t.Errorf("OceanQuotes(%q) = %q, Python's re gives %q", inputs[i], got, want)
		}
	}
	if i != len(inputs) {
		t.Fatalf("python answered %d of %d strings", i, len(inputs))
	}
}

// FuzzOceanQuotes: the rewrite only turns single quotes into double quotes
// (same length, same characters elsewhere), leaves text without single
// quotes alone, and what ProtectFromOceanQuotes writes is left as it is and
// means the same to jq.
func FuzzOceanQuotes(f *testing.F) {
	for _, c := range oceanQuoteCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		out := OceanQuotes(s)
		in, got := []rune(s), []rune(out)
		if len(in) != len(got) {
			t.Fatalf("OceanQuotes(%q) = %q: length changed", s, out)
		}
		for i := range in {
			if in[i] != got[i] && !(in[i] == '\'' && got[i] == '"') {
				t.Fatalf("OceanQuotes(%q) = %q: changed %q at %d", s, out, in[i], i)
			}
		}
		if !strings.Contains(s, "'") && out != s {
			t.Fatalf("OceanQuotes changed %q without single quotes", s)
		}
		p := ProtectFromOceanQuotes(s)
		if OceanQuotes(p) != p {
			t.Fatalf("ProtectFromOceanQuotes(%q) = %q, which Ocean still rewrites", s, p)
		}
		if _, err := jq.Compile(s); err == nil {
			q, err := jq.Compile(p)
			if err != nil {
				t.Fatalf("ProtectFromOceanQuotes(%q) = %q no longer compiles: %v", s, p, err)
			}
			a, _, errA := mustCompile(t, s).First(t.Context(), map[string]any{"a": "it's"})
			b, _, errB := q.First(t.Context(), map[string]any{"a": "it's"})
			if (errA == nil) != (errB == nil) || !jsonEqual(a, b) {
				t.Fatalf("%q and its protected form %q differ: %v/%v, %v/%v", s, p, a, errA, b, errB)
			}
		}
	})
}

func mustCompile(t *testing.T, expr string) *jq.Query {
	t.Helper()
	q, err := jq.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func jsonEqual(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}
