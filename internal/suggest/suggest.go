// Package suggest finds the names a mistyped one was probably meant to be,
// for "did you mean" hints in error messages.
package suggest

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Closest returns the candidates nearest to word by edit distance (letters
// inserted, deleted, replaced or two swapped; case ignored), at most three,
// nearest first, and only those close enough to be a plausible typo: within
// a third of the word's length and never more than maxDistance. A candidate
// equal to word is never suggested; one differing only in case is, first.
func Closest(word string, candidates []string, maxDistance int) []string {
	lw := strings.ToLower(word)
	limit := utf8.RuneCountInString(word) / 3
	if limit > maxDistance {
		limit = maxDistance
	}
	if limit < 1 {
		limit = 1
	}
	type hit struct {
		name string
		d    int
	}
	var hits []hit
	seen := map[string]bool{}
	for _, c := range candidates {
		if c == word || seen[c] {
			continue
		}
		seen[c] = true
		if d := Distance(lw, strings.ToLower(c), limit); d <= limit {
			hits = append(hits, hit{c, d})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool {
		if hits[a].d != hits[b].d {
			return hits[a].d < hits[b].d
		}
		return hits[a].name < hits[b].name
	})
	var out []string
	for i, h := range hits {
		if i == 3 || h.d > hits[0].d {
			break
		}
		out = append(out, h.name)
	}
	return out
}

// Distance is the optimal-string-alignment edit distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions, each
// costing 1). It stops early and returns limit+1 once the distance is
// known to exceed limit.
func Distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	// Three rows: two back (for transpositions), previous, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Phrase is the hint to append to a message: ` (did you mean "X"?)`, or
// `did you mean "X" or "Y"?`, or "" when there is no suggestion.
func Phrase(suggestions []string) string {
	switch len(suggestions) {
	case 0:
		return ""
	case 1:
		return `did you mean "` + suggestions[0] + `"?`
	}
	quoted := make([]string, len(suggestions))
	for i, s := range suggestions {
		quoted[i] = `"` + s + `"`
	}
	return "did you mean " + strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1] + "?"
}
