package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/jq"
)

// Compiled is a config with every jq expression compiled once. It is what
// Validate checks and what the mapping package evaluates, so that the two
// can never disagree about what is valid.
type Compiled struct {
	Config    *Config
	Resources []CompiledResource
}

// CompiledResource is resources[Index] compiled.
type CompiledResource struct {
	Index    int
	Path     string    // resources[Index]
	Resource *Resource // points into Config.Resources
	Selector *jq.Query // nil: every resource is selected
	Mappings []CompiledMapping
}

// CompiledMapping is one mapping compiled. Optional expressions are nil when
// the config does not set them.
type CompiledMapping struct {
	Path         string // resources[i].port.entity.mappings[j]
	Identifier   *jq.Query
	Title        *jq.Query
	Icon         *jq.Query
	Team         *jq.Query
	ItemsToParse *jq.Query
	Blueprint    Blueprint
	Properties   []CompiledField
	Relations    []CompiledField
}

// CompiledField is one property or relation. Query is nil only under
// Ocean's rules (selector.aws.document: ocean), for an expression that does
// not compile: the field is sent as null, as Ocean does.
type CompiledField struct {
	Name  string
	Path  string // ...properties.arn
	Query *jq.Query
}

// Blueprint is a mapping's blueprint: a fixed Name (what Port's exporter
// supported: a plain name, quotes around it stripped) or, as our extension,
// a jq Query evaluated per resource. Exactly one is set.
type Blueprint struct {
	Name  string
	Query *jq.Query
}

// blueprintName matches what Port accepts as a blueprint identifier (plus
// '=', which entity.ValidateBlueprint then rejects with a precise message).
// Such a value is a name, never jq: "lambda" would otherwise be a call of an
// undefined jq function.
var blueprintName = regexp.MustCompile(`^[A-Za-z0-9@_=-]+$`)

// BlueprintName returns the fixed blueprint name a mapping's blueprint value
// stands for, the way Port's exporter read it: surrounding double quotes
// stripped ("\"lambda\"" and "lambda" both mean lambda). ok is false when
// the value is not a plain name; Compile then treats it as a jq expression.
func BlueprintName(value string) (name string, ok bool) {
	name = strings.Trim(value, `"`)
	return name, blueprintName.MatchString(name)
}

// regionPattern accepts every AWS partition's region names (us-east-1,
// us-gov-west-1, cn-north-1, eu-isoe-west-1) and catches typos such as
// "eu-west" or "EU-WEST-1". It is the schema's $defs/region pattern.
var regionPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(loadSchema().pointer("/$defs/region/pattern").str)
})

// ValidRegion reports whether s looks like an AWS region name.
func ValidRegion(s string) bool { return regionPattern().MatchString(s) }

// Validate returns every problem of cfg: first the type and structure
// problems found while reading it, then those found compiling it, each group
// in document order.
func Validate(cfg *Config) []Problem {
	_, problems := compile(cfg)
	return problems
}

// Compile compiles every expression of cfg once, with opts applied to each.
// It fails with a *ValidationError listing every problem when there is any.
func Compile(cfg *Config, opts ...jq.Option) (*Compiled, error) {
	compiled, problems := compile(cfg, opts...)
	if len(problems) > 0 {
		return nil, &ValidationError{Source: cfg.Source, Problems: problems}
	}
	return compiled, nil
}

type compiler struct {
	opts     []jq.Option
	problems []Problem
	decoded  map[string]bool // paths with a decode problem
	// lenient is Ocean's rule for the entry being compiled: a title, icon,
	// team, property or relation whose expression does not compile maps to
	// null (Ocean logs it and sends null) instead of being a problem; the
	// reader of the document warns about it (see lenientWarnings).
	lenient bool
}

// optional compiles an expression whose failure Ocean's rules turn into null.
func (c *compiler) optional(path, expr string) *jq.Query {
	if c.lenient {
		if expr == "" {
			return nil
		}
		q, _ := jq.Compile(expr, c.opts...)
		return q
	}
	return c.query(path, expr)
}

func (c *compiler) problem(path, format string, args ...any) {
	if c.decoded[path] {
		return // already reported as a type problem at the same place
	}
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// query compiles expr; an empty expr is "not set" and yields nil.
func (c *compiler) query(path, expr string) *jq.Query {
	if expr == "" {
		return nil
	}
	q, err := jq.Compile(expr, c.opts...)
	if err != nil {
		c.problem(path, "%v", err)
		return nil
	}
	return q
}

func compile(cfg *Config, opts ...jq.Option) (*Compiled, []Problem) {
	c := &compiler{opts: opts, decoded: map[string]bool{}}
	tree, decoded := cfg.tree, cfg.decodeProblems
	if tree == nil {
		// Built in Go, not read: check it as the document it stands for.
		tree = schemaOfConfig(cfg)
		decoded, _ = checkSchema(tree)
	}
	for _, p := range decoded {
		c.problems = append(c.problems, p)
		c.decoded[p.Path] = true
	}
	out := &Compiled{Config: cfg}
	for i := range cfg.Resources {
		out.Resources = append(out.Resources, c.resource(i, &cfg.Resources[i]))
	}
	c.readers(cfg)
	sortProblems(tree, c.problems, schemaOf(cfg).order)
	// The entries a cloudResource entry expands to share its expressions:
	// a problem of one of them is reported once.
	return out, uniqueProblems(c.problems)
}

// uniqueProblems keeps the first of problems equal in path and message.
func uniqueProblems(problems []Problem) []Problem {
	seen := make(map[Problem]bool, len(problems))
	out := problems[:0]
	for _, p := range problems {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func (c *compiler) resource(i int, r *Resource) CompiledResource {
	path := r.pathAt(i)
	c.lenient = r.Selector.AWS.Document == DocumentOcean
	cr := CompiledResource{Index: i, Path: path, Resource: r}
	cr.Selector = c.query(path+".selector.query", r.Selector.Query)

	awsPath := path + ".selector.aws"
	seen := map[string]bool{}
	for j, region := range r.Selector.AWS.Regions {
		// The schema checks each name; a duplicate is Go's to see.
		if seen[region] {
			c.problem(Index(awsPath+".regions", j), "region %q is listed twice", region)
		}
		seen[region] = true
	}
	for _, region := range sortedKeys(r.Selector.AWS.RegionsConfig) {
		p := Key(awsPath+".regions_config", region)
		for j, model := range r.Selector.AWS.RegionsConfig[region].ResourcesModels {
			if err := checkResourceModel(model); err != nil {
				c.problem(Index(p+".resources_models", j), "%v", err)
			}
		}
	}

	for j := range r.Port.Entity.Mappings {
		cr.Mappings = append(cr.Mappings, c.mapping(r.mappingPathAt(i, j), &r.Port.Entity.Mappings[j]))
	}
	return cr
}

// pathAt is the path of the entry at index i of Config.Resources.
func (r *Resource) pathAt(i int) string {
	if r.path != "" {
		return r.path
	}
	return ResourcePath(i)
}

// mappingPathAt is the path of the entry's mapping j.
func (r *Resource) mappingPathAt(i, j int) string {
	switch {
	case r.mappingsPath == "":
		return MappingPath(i, j)
	case r.singleMapping:
		return r.mappingsPath
	}
	return Index(r.mappingsPath, j)
}

// readers checks selector.aws.reader: a Describe reader exists only for
// DescribeKinds, and one kind is read by one reader (its shards are one
// listing), so every entry of a kind must get the same one, named or by
// default.
func (c *compiler) readers(cfg *Config) {
	first := map[string]int{} // kind → index of its first entry
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		p := r.pathAt(i) + ".selector.aws.reader"
		if r.Selector.AWS.Reader == ReaderDescribe && !slices.Contains(DescribeKinds, r.Kind) {
			c.problem(p, "%s has no Describe reader (only %s): use cloudcontrol or leave reader out", r.Kind, strings.Join(DescribeKinds, ", "))
			continue
		}
		j, seen := first[r.Kind]
		if !seen {
			first[r.Kind] = i
			continue
		}
		if other := &cfg.Resources[j]; other.ReaderOf() != r.ReaderOf() {
			c.problem(p, "%s is read by %s here but by %s in %s: one kind has one reader, so name the same reader in every entry of the kind",
				r.Kind, readerWords(r), readerWords(other), other.pathAt(j))
		}
	}
}

// readerWords names an entry's reader for a message.
func readerWords(r *Resource) string {
	if r.Selector.AWS.Reader == "" {
		return r.ReaderOf() + " (the default)"
	}
	return r.ReaderOf()
}

// checkResourceModel: Cloud Control takes ResourceModel as a JSON object in
// a string; anything else fails every listing call, so it is caught here.
func checkResourceModel(model string) error {
	var v any
	if err := json.Unmarshal([]byte(model), &v); err != nil {
		return fmt.Errorf("resource model %q is not JSON: %v", model, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("resource model %q is not a JSON object", model)
	}
	return nil
}

func (c *compiler) mapping(path string, m *Mapping) CompiledMapping {
	cm := CompiledMapping{Path: path}
	if strings.TrimSpace(m.Identifier) != "" { // blank: the schema's problem
		cm.Identifier = c.query(path+".identifier", m.Identifier)
	}
	cm.Title = c.optional(path+".title", m.Title)
	cm.Icon = c.optional(path+".icon", m.Icon)
	cm.Team = c.optional(path+".team", m.Team)
	cm.ItemsToParse = c.query(path+".itemsToParse", m.ItemsToParse)
	cm.Blueprint = c.blueprint(path+".blueprint", m.Blueprint)
	cm.Properties = c.fields(path+".properties", "property", m.Properties)
	cm.Relations = c.fields(path+".relations", "relation", m.Relations)
	return cm
}

func (c *compiler) blueprint(path, value string) Blueprint {
	if strings.Trim(value, `" `) == "" {
		return Blueprint{} // the schema's problem
	}
	if name, ok := BlueprintName(value); ok {
		if err := entity.ValidateBlueprint(name); err != nil {
			c.problem(path, "%v", err)
		}
		return Blueprint{Name: name}
	}
	q, err := jq.Compile(value, c.opts...)
	if err != nil {
		c.problem(path, "%q is not a blueprint name (letters, digits, @, _, -) and not a valid jq expression: %v", value, err)
		return Blueprint{}
	}
	return Blueprint{Query: q}
}

func (c *compiler) fields(path, what string, fields Fields) []CompiledField {
	out := make([]CompiledField, 0, len(fields))
	seen := map[string]bool{}
	for _, f := range fields {
		p := Key(path, f.Name)
		switch {
		case f.Name == "", strings.TrimSpace(f.Expr) == "":
			continue // the schema's problem
		case seen[f.Name]:
			c.problem(p, "%s %q is mapped twice; only one value can count", what, f.Name)
			continue
		}
		seen[f.Name] = true
		if c.lenient {
			// Kept with a nil Query when it does not compile: sent as null.
			out = append(out, CompiledField{Name: f.Name, Path: p, Query: c.optional(p, f.Expr)})
			continue
		}
		if q := c.query(p, f.Expr); q != nil {
			out = append(out, CompiledField{Name: f.Name, Path: p, Query: q})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
