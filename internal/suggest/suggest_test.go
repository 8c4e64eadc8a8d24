package suggest

import (
	"slices"
	"testing"
	"unicode/utf8"
)

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"identifer", "identifier", 1},
		{"propertes", "properties", 1},
		{"ab", "ba", 1}, // a transposition is one edit
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"functon", "function", 1},
	}
	if len(cases) < 8 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b, 10); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a, 10); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
	// The early stop never reports less than the truth.
	if got := Distance("kitten", "sitting", 1); got != 2 {
		t.Errorf("Distance with limit 1 = %d, want 2 (limit+1)", got)
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"identifier", "title", "blueprint", "icon", "team", "properties", "relations", "itemsToParse"}
	cases := []struct {
		word string
		want []string
	}{
		{"identifer", []string{"identifier"}},
		{"propertes", []string{"properties"}},
		{"Title", []string{"title"}},
		{"relation", []string{"relations"}},
		{"xyz", nil},
		{"identifier", nil}, // the word itself is not a suggestion
		{"tem", []string{"team"}},
	}
	if len(cases) < 7 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if got := Closest(c.word, keys, 3); !slices.Equal(got, c.want) {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

func TestPhrase(t *testing.T) {
	if got := Phrase(nil); got != "" {
		t.Errorf("Phrase(nil) = %q", got)
	}
	if got, want := Phrase([]string{"a"}), `did you mean "a"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := Phrase([]string{"a", "b", "c"}), `did you mean "a", "b" or "c"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzDistance: a metric's invariants hold for any input.
func FuzzDistance(f *testing.F) {
	f.Add("identifer", "identifier")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 64 || len(b) > 64 {
			return
		}
		d := Distance(a, b, 200)
		if d != Distance(b, a, 200) {
			t.Fatalf("not symmetric for %q, %q", a, b)
		}
		if utf8.ValidString(a) && utf8.ValidString(b) && (d == 0) != (a == b) {
			t.Fatalf("distance %d for %q, %q", d, a, b)
		}
		la, lb := len([]rune(a)), len([]rune(b))
		if d > max(la, lb) || d < max(la-lb, lb-la) {
			t.Fatalf("distance %d out of bounds for %q, %q", d, a, b)
		}
	})
}
