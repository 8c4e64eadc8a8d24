package blueprints

import (
	"fmt"
	"io"
	"strings"
)

// Print writes the plan for people: one line per blueprint, marked
// + (new), ~ (changed) or = (unchanged), with what changes, then the
// requests in order and a count.
func (p *Plan) Print(w io.Writer) {
	var created, changed, same int
	for _, c := range p.Changes {
		switch {
		case c.New:
			created++
			fmt.Fprintf(w, "+ %s (new)%s\n", c.Blueprint, describe(" with", c.Added, ""))
		case c.Unchanged():
			same++
			fmt.Fprintf(w, "= %s%s\n", c.Blueprint, describe(", keeps", c.Kept, " (not in the file; --prune removes)"))
		default:
			changed++
			var parts []string
			parts = appendList(parts, "+", c.Added)
			parts = appendList(parts, "~", c.Changed)
			parts = appendList(parts, "-", c.Removed)
			parts = appendList(parts, "~", c.Fields)
			fmt.Fprintf(w, "~ %s: %s%s\n", c.Blueprint, strings.Join(parts, ", "),
				describe("; keeps", c.Kept, " (not in the file; --prune removes)"))
		}
	}
	if len(p.Steps) > 0 {
		fmt.Fprintln(w, "Requests, in order:")
		for i, s := range p.Steps {
			fmt.Fprintf(w, "  %d. %s %s (%s): %s\n", i+1, s.Method, s.Blueprint, methodVerb(s.Method), s.Why)
		}
	}
	fmt.Fprintf(w, "%d to create, %d to change, %d unchanged\n", created, changed, same)
}

func methodVerb(m string) string {
	switch m {
	case "create":
		return "POST"
	case "update":
		return "PATCH"
	case "replace":
		return "PUT"
	}
	return m
}

func appendList(parts []string, mark string, names []string) []string {
	for _, n := range names {
		parts = append(parts, mark+n)
	}
	return parts
}

func describe(lead string, names []string, tail string) string {
	if len(names) == 0 {
		return ""
	}
	return lead + " " + strings.Join(names, ", ") + tail
}
