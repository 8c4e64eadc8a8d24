package blueprints

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/port"
)

// Getter reads one blueprint from Port.
type Getter interface {
	GetBlueprint(ctx context.Context, id string) (json.RawMessage, error)
}

// Problem is one thing a config maps to that Port's blueprints lack.
type Problem struct {
	// Path is where the config names it, e.g.
	// resources[0].port.entity.mappings[0].properties.runtime.
	Path      string
	Blueprint string
	// Property or Relation is what is missing; both empty when the
	// blueprint itself is.
	Property, Relation string
}

func (p Problem) String() string {
	switch {
	case p.Property != "":
		return fmt.Sprintf("%s: blueprint %q has no property %q", p.Path, p.Blueprint, p.Property)
	case p.Relation != "":
		return fmt.Sprintf("%s: blueprint %q has no relation %q", p.Path, p.Blueprint, p.Relation)
	}
	return fmt.Sprintf("%s: blueprint %q does not exist in Port", p.Path, p.Blueprint)
}

// CheckError is the preflight's refusal: every problem, and the fix.
type CheckError struct {
	Source   string
	Problems []Problem
}

// Fix is what the preflight tells the user to do.
const Fix = "create or update the blueprints first: port-aws-exporter blueprints apply --file blueprints.json " +
	"(init writes that file), or change the mapping"

func (e *CheckError) Error() string {
	msg := fmt.Sprintf("%s: %d mapping(s) write to what Port's blueprints lack:", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		msg += "\n  " + p.String()
	}
	return msg + "\n" + Fix
}

// mappedField is a property or relation a mapping sets.
type mappedField struct{ name, path string }

type mappingUse struct {
	path       string
	blueprint  string
	properties []mappedField
	relations  []mappedField
}

// uses lists every mapping of the config with a blueprint known by name;
// mappings whose blueprint is a jq expression are logged at debug level.
func uses(cfg *config.Config, log *slog.Logger) []mappingUse {
	var out []mappingUse
	for i, r := range cfg.Resources {
		for j, m := range r.Port.Entity.Mappings {
			path := fmt.Sprintf("resources[%d].port.entity.mappings[%d]", i, j)
			name, ok := config.BlueprintName(m.Blueprint)
			if !ok {
				log.Debug("blueprint chosen by a jq expression: its properties cannot be checked before the sync",
					"path", path+".blueprint", "expression", m.Blueprint)
				continue
			}
			u := mappingUse{path: path, blueprint: name}
			for _, f := range m.Properties {
				u.properties = append(u.properties, mappedField{f.Name, path + ".properties." + f.Name})
			}
			for _, f := range m.Relations {
				u.relations = append(u.relations, mappedField{f.Name, path + ".relations." + f.Name})
			}
			out = append(out, u)
		}
	}
	return out
}

// Check reads each blueprint the config maps to by name, once, and reports
// every mapped blueprint, property and relation Port lacks (a *CheckError),
// in config order. An error reading Port is returned as it is: it says
// nothing about the blueprints.
func Check(ctx context.Context, client Getter, cfg *config.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	type found struct {
		body   map[string]any
		exists bool
	}
	read := map[string]found{}
	var problems []Problem
	for _, u := range uses(cfg, log) {
		f, seen := read[u.blueprint]
		if !seen {
			body, exists, err := get(ctx, client, u.blueprint)
			if err != nil {
				return err
			}
			f = found{body, exists}
			read[u.blueprint] = f
		}
		if !f.exists {
			problems = append(problems, Problem{Path: u.path + ".blueprint", Blueprint: u.blueprint})
			continue
		}
		props, rels := properties(f.body), relations(f.body)
		for _, p := range u.properties {
			if _, ok := props[p.name]; !ok {
				problems = append(problems, Problem{Path: p.path, Blueprint: u.blueprint, Property: p.name})
			}
		}
		for _, r := range u.relations {
			if _, ok := rels[r.name]; !ok {
				problems = append(problems, Problem{Path: r.path, Blueprint: u.blueprint, Relation: r.name})
			}
		}
	}
	log.Debug("blueprints checked", "blueprints", len(read), "problems", len(problems))
	if len(problems) > 0 {
		return &CheckError{Source: cfg.Source, Problems: problems}
	}
	return nil
}

// Checked names the blueprints a config maps to by name, sorted.
func Checked(cfg *config.Config) []string {
	set := map[string]bool{}
	for _, u := range uses(cfg, slog.New(slog.DiscardHandler)) {
		set[u.blueprint] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var _ Client = (*port.Client)(nil)
