// Package entity defines a Port catalog entity as the exporter produces it,
// and the identifier rules Port enforces, so that every other package checks
// identifiers the same way before anything is sent.
package entity

import (
	"fmt"
	"regexp"
	"strings"
)

// Entity is one Port entity produced by a mapping. Blueprint travels with the
// entity inside the exporter; the Port client puts it in the URL, not the body.
type Entity struct {
	Blueprint  string         `json:"blueprint"`
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"` // string or []string, as Port accepts both
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations,omitempty"`
}

// Ref names an entity without its content: what deletions and ownership work with.
type Ref struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
}

// Ref returns the entity's reference.
func (e Entity) Ref() Ref { return Ref{Blueprint: e.Blueprint, Identifier: e.Identifier} }

func (r Ref) String() string { return r.Blueprint + "/" + r.Identifier }

// MaxIdentifierLength is the longest entity identifier Port accepts.
const MaxIdentifierLength = 1000

// MaxBlueprintLength is the longest blueprint identifier Port accepts.
const MaxBlueprintLength = 100

// Port's OpenAPI pattern is ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$ ; Go's RE2 has no
// look-ahead, so the "not . or .." part is checked separately.
var identifierChars = regexp.MustCompile(`^[\p{L}0-9@_.+:\\/=-]+$`)

// ValidateIdentifier reports why Port would reject id as an entity identifier.
func ValidateIdentifier(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("identifier is empty")
	case len(id) > MaxIdentifierLength:
		return fmt.Errorf("identifier is %d characters long, Port accepts at most %d", len(id), MaxIdentifierLength)
	case id == "." || id == "..":
		return fmt.Errorf("identifier %q is not allowed by Port", id)
	case !identifierChars.MatchString(id):
		return fmt.Errorf("identifier %q has characters Port rejects (%s); allowed are letters, digits and @_.+:\\/=-", id, badChars(id))
	}
	return nil
}

// ValidateBlueprint reports why Port would reject id as a blueprint identifier.
func ValidateBlueprint(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("blueprint is empty")
	case len(id) > MaxBlueprintLength:
		return fmt.Errorf("blueprint %q is longer than %d characters", id, MaxBlueprintLength)
	case strings.Contains(id, "="):
		return fmt.Errorf("blueprint %q contains '=', which Port rejects", id)
	}
	return nil
}

func badChars(id string) string {
	seen := map[rune]bool{}
	var out []string
	for _, r := range id {
		if !identifierChars.MatchString(string(r)) && !seen[r] {
			seen[r] = true
			out = append(out, fmt.Sprintf("%q", r))
		}
	}
	return strings.Join(out, ", ")
}
