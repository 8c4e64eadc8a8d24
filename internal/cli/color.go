package cli

import (
	"io"
	"os"
)

const (
	red   = "31"
	green = "32"
	dim   = "2"
)

// ColorAllowed is true when w is a terminal and neither NO_COLOR
// (https://no-color.org: any non-empty value) nor TERM=dumb says otherwise.
func ColorAllowed(w io.Writer) bool {
	return IsTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// paint wraps s in an ANSI color when color is on.
func paint(color bool, code, s string) string {
	if !color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
