package catalog

import (
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/suggest"
)

// Suggest returns the catalogue's type names nearest to a name it does not
// know (AWS::Lambda::Functon → AWS::Lambda::Function), at most three.
func Suggest(name string) []string {
	c := data()
	if i, ok := c.byLower[toLower(name)]; ok && c.types[i].Name != name {
		return []string{c.types[i].Name} // only the case differs
	}
	names := make([]string, len(c.types))
	for i, t := range c.types {
		names[i] = t.Name
	}
	return suggest.Closest(name, names, 4)
}

func sortStrings(s []string) { sort.Strings(s) }
