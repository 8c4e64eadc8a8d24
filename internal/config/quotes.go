package config

import (
	"strings"
	"unicode"
)

// OceanQuotes rewrites a jq expression the way Ocean does before compiling
// it (port_ocean's JQEntityProcessor._format_filter, applied to every
// selector and mapping expression): a single quote that opens a string (at
// the start, or after whitespace, and not followed by whitespace or a double
// quote) or closes one (not after whitespace or a double quote, and followed
// by whitespace or the end) becomes a double quote. That is why Ocean's
// published mappings can write 'https://...' + .Properties.Arn, which plain
// jq rejects. The rules are Ocean's, including where they misfire (a single
// quote inside a double-quoted string after a space is rewritten too):
// a config that works in Ocean must give the same expressions here.
//
// The scan reproduces the left-to-right, non-overlapping matching of
// Ocean's regular expression (^|\s)'(?!\s|")|(?<!\s|")'(\s|$): a match that
// consumes a whitespace character keeps that character from starting the next.
func OceanQuotes(expr string) string {
	if !strings.Contains(expr, "'") {
		return expr
	}
	s := []rune(expr)
	n := len(s)
	// notFollowed is the negative lookahead (?!\s|") at j.
	notFollowed := func(j int) bool { return j >= n || !(pySpace(s[j]) || s[j] == '"') }
	var b strings.Builder
	b.Grow(len(expr))
	for i := 0; i < n; {
		switch {
		case i == 0 && s[0] == '\'' && notFollowed(1):
			// (^)' opening
			b.WriteRune('"')
			i++
		case pySpace(s[i]) && i+1 < n && s[i+1] == '\'' && notFollowed(i+2):
			// (\s)' opening: the whitespace is kept
			b.WriteRune(s[i])
			b.WriteRune('"')
			i += 2
		case s[i] == '\'' && !(i > 0 && (pySpace(s[i-1]) || s[i-1] == '"')) && (i+1 == n || pySpace(s[i+1])):
			// '(\s|$) closing: the whitespace after it is consumed and kept
			b.WriteRune('"')
			if i+1 < n {
				b.WriteRune(s[i+1])
				i += 2
			} else {
				i++
			}
		default:
			b.WriteRune(s[i])
			i++
		}
	}
	return b.String()
}

// pySpace is Python's \s for str patterns (str.isspace): Unicode
// whitespace, including the information separators U+001C..U+001F that Go's
// unicode.IsSpace leaves out.
func pySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// ProtectFromOceanQuotes returns expr written so that OceanQuotes leaves it
// as it is, with the same meaning: when the rewrite would change it, every
// single quote becomes \u0027. In a valid jq expression a single quote can
// only be inside a string literal (or a comment), where the escape means the
// same character. Used when writing a port-app-config.yml.
func ProtectFromOceanQuotes(expr string) string {
	if OceanQuotes(expr) == expr {
		return expr
	}
	return strings.ReplaceAll(expr, "'", `\u0027`)
}

// pydanticBool reads a boolean the way Ocean's settings model (pydantic v1)
// does: true, false, the numbers 1 and 0, and the strings (any case, no
// surrounding space) 1, on, t, true, y,
// yes and 0, off, f, false, n, no. Ocean's own default mapping writes
// useGetResourceAPI: 'true' (a string).
func pydanticBool(n *node) (value, ok bool) {
	switch n.kind {
	case kindBool:
		return n.boolean, true
	case kindNumber:
		// 1.0 == 1 in Python, so 1.0 is true as well.
		if f, err := n.num.Float64(); err == nil && (f == 0 || f == 1) {
			return f == 1, true
		}
	case kindString:
		switch strings.ToLower(n.str) {
		case "1", "on", "t", "true", "y", "yes":
			return true, true
		case "0", "off", "f", "false", "n", "no":
			return false, true
		}
	}
	return false, false
}
