package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/jq"
)

// This file reads Ocean's port-app-config.yml (Port's Ocean AWS integration,
// port-labs/ocean integrations/aws) into the same Config as config.json, so
// the rest of the exporter does not know which format it read:
//
//   - every entry gets selector.aws.document: ocean: jq sees Ocean's
//     document, built per Layout, with Ocean's jq rules (a selector must give
//     a boolean; a title, icon, team, property or relation that fails gives
//     null); every expression is first rewritten with OceanQuotes, as Ocean
//     does;
//   - mappings may be one object (Ocean's model) or a list;
//   - useGetResourceAPI: false maps the list properties (trust_list_properties);
//     not set, this exporter reads every resource with GetResource, where
//     Ocean maps the list properties only (a note says so);
//   - regionPolicy becomes the entry's RegionPolicy;
//   - port.itemsToParse (with itemsToParseName and
//     itemsToParseTopLevelTransform) becomes each mapping's itemsToParse
//     with Ocean's item rules;
//   - kind cloudResource with selector.resourceKinds becomes one entry per kind;
//   - the top-level options are kept for the exporter to apply.
//
// Where this exporter cannot give what Ocean gives, a warning says so at the
// JSON path of the cause; where it chooses another default, a note does.

func (b *builder) note(path, format string, args ...any) {
	b.notes = append(b.notes, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// oceanBool reads one of Ocean's booleans (see pydanticBool) into dst.
func (b *builder) oceanBool(dst **bool) func(string, *node) {
	return func(path string, n *node) {
		if n.kind == kindNull || n.kind == kindArray || n.kind == kindObject {
			return // null is "not set"; other types are the schema's problem
		}
		v, ok := pydanticBool(n)
		if !ok {
			b.problem(path, "%s is not true or false (Ocean reads true/false, yes/no, on/off, t/f, y/n, 1/0)", describeNode(n))
			return
		}
		*dst = &v
	}
}

// describeNode names a scalar for a message.
func describeNode(n *node) string {
	switch n.kind {
	case kindString:
		return strconv.Quote(n.str)
	case kindNumber:
		return n.num.String()
	}
	return n.kind.String()
}

func (b *builder) oceanConfig(root *node) *Config {
	cfg := &Config{Dialect: DialectOcean}
	b.object("", root, map[string]func(string, *node){
		"resources": func(path string, n *node) {
			if n.kind != kindArray {
				return
			}
			cfg.Resources = []Resource{}
			b.array(path, n, func(path string, _ int, item *node) {
				cfg.Resources = append(cfg.Resources, b.oceanResource(path, item)...)
			})
		},
		"deleteDependentEntities":      b.oceanBool(&cfg.DeleteDependents),
		"createMissingRelatedEntities": b.oceanBool(&cfg.CreateMissingRelatedEntities),
		"enableMergeEntity":            b.oceanBool(&cfg.EnableMergeEntity),
		"aws":                          b.awsBlock(cfg, true),
		"entityDeletionThreshold": func(path string, n *node) {
			var f float64
			var err error
			switch n.kind {
			case kindNumber:
				f, err = n.num.Float64()
			case kindString:
				// Ocean's model coerces a numeric string, as it does "0.5".
				f, err = strconv.ParseFloat(strings.TrimSpace(n.str), 64)
			default:
				return
			}
			if err != nil || !(f >= 0 && f <= 1) {
				b.problem(path, "%s is not a number between 0 and 1 (the largest share of entities one sync may delete)", describeNode(n))
				return
			}
			cfg.EntityDeletionThreshold = &f
		},
	})
	if root.kind != kindObject {
		return cfg
	}
	if root.get("resources") == nil {
		b.warn("resources", "missing: nothing will be exported")
	}
	if cfg.DeleteDependents == nil {
		b.note("deleteDependentEntities", "not set: Ocean's default true deletes the entities related to a deleted one; "+
			"this exporter's default is false (a dependent entity may not be ours): set it to true for Ocean's behaviour")
	}
	if cfg.EntityDeletionThreshold == nil {
		b.note("entityDeletionThreshold", "not set: Ocean's default is 0.9; this exporter applies --max-delete-share "+
			"(default 0.5), per (account, region, kind) shard")
	} else {
		b.note("entityDeletionThreshold", "applied as --max-delete-share, the largest share of one (account, region, kind) shard's "+
			"entities a full sync may delete (Ocean compares its deletions to all of the integration's entities); "+
			"--max-delete-share or MAX_DELETE_SHARE, when given, wins")
	}
	if cfg.EnableMergeEntity != nil && !*cfg.EnableMergeEntity {
		b.warn("enableMergeEntity", "false is not supported: this exporter always upserts with merge=true, so properties "+
			"the mapping does not name are kept in Port where Ocean would replace the whole entity")
	}
	return cfg
}

// oceanEntry is what the port-app-config says about one entry before it is
// expanded (cloudResource) into Resources.
type oceanEntry struct {
	kind              string
	query             string
	useGetResourceAPI *bool
	policy            RegionPolicy
	resourceKinds     []string
	resourceKindsPath string
	mappings          []Mapping
	mappingsPath      string
	singleMapping     bool
	itemsToParse      string
	itemsName         string
	itemsTransform    *bool
}

func (b *builder) oceanResource(path string, n *node) []Resource {
	var e oceanEntry
	b.object(path, n, map[string]func(string, *node){
		"kind": b.str(&e.kind),
		"selector": func(path string, n *node) {
			b.object(path, n, map[string]func(string, *node){
				"query":             b.oceanExpr(&e.query),
				"useGetResourceAPI": b.oceanBool(&e.useGetResourceAPI),
				"regionPolicy": func(path string, n *node) {
					b.object(path, n, map[string]func(string, *node){
						"allow": b.strings(&e.policy.Allow),
						"deny":  b.strings(&e.policy.Deny),
					})
					for _, r := range e.policy.Allow {
						if r == "*" {
							b.note(path+".allow", "\"*\" reads every enabled region here; Ocean takes it as a region name and reads no region for it")
						}
					}
				},
				"resourceKinds": func(path string, n *node) {
					e.resourceKindsPath = path
					switch n.kind {
					case kindArray:
						b.strings(&e.resourceKinds)(path, n)
					case kindObject: // Ocean's Azure integration: {type: apiVersion}
						for _, m := range n.members {
							e.resourceKinds = append(e.resourceKinds, m.key)
						}
					}
				},
				"listGroupResources": func(path string, n *node) {
					var v *bool
					b.oceanBool(&v)(path, n)
					if v != nil && *v {
						b.warn(path, "not supported: resource groups are read through Cloud Control (Ocean's listGroupResources: false); "+
							"the group members (__Resources) Ocean adds are not in the document")
					}
				},
				"includeActions": func(path string, _ *node) {
					b.warn(path, "a key of Ocean's AWS v3 integration; ignored: this exporter gives the document of Ocean's AWS integration")
				},
				"maxConcurrentAccounts": func(path string, _ *node) {
					b.warn(path, "a key of Ocean's AWS v3 integration; ignored (see --concurrency)")
				},
				"exportEnvVariables": func(path string, _ *node) {
					b.warn(path, "ignored: this exporter does not export environment variables")
				},
			})
		},
		"port": func(path string, n *node) {
			b.object(path, n, map[string]func(string, *node){
				"entity": func(path string, n *node) {
					b.object(path, n, map[string]func(string, *node){
						"mappings": func(path string, n *node) {
							e.mappingsPath = path
							switch n.kind {
							case kindObject:
								e.singleMapping = true
								e.mappings = []Mapping{b.oceanMapping(path, n)}
							case kindArray:
								b.array(path, n, func(path string, _ int, item *node) {
									e.mappings = append(e.mappings, b.oceanMapping(path, item))
								})
							}
						},
					})
				},
				"itemsToParse":                  b.oceanExpr(&e.itemsToParse),
				"itemsToParseName":              b.str(&e.itemsName),
				"itemsToParseTopLevelTransform": b.oceanBool(&e.itemsTransform),
			})
		},
	})
	if n.kind != kindObject {
		return nil
	}
	if e.itemsToParse != "" {
		name := e.itemsName
		if name == "" {
			name = "item" // Ocean's default
		}
		transform := e.itemsTransform == nil || *e.itemsTransform // Ocean's default: true
		for i := range e.mappings {
			e.mappings[i].ItemsToParse = e.itemsToParse
			e.mappings[i].ItemsToParseName = name
			e.mappings[i].ItemsTopLevelTransform = transform
		}
	}
	kinds := []string{e.kind}
	switch {
	case e.kind == KindCloudResource:
		if len(e.resourceKinds) == 0 {
			b.problem(path+".selector.resourceKinds", "missing: kind cloudResource reads the AWS types listed in selector.resourceKinds")
			return nil
		}
		b.note(path+".kind", "cloudResource is read as one entry per type of selector.resourceKinds (%s), as Ocean's cloud "+
			"integrations do; Ocean's AWS integration has no such kind", strings.Join(e.resourceKinds, ", "))
		kinds = e.resourceKinds
	case len(e.resourceKinds) > 0:
		b.warn(e.resourceKindsPath, "ignored: resourceKinds applies to kind cloudResource")
	}
	out := make([]Resource, 0, len(kinds))
	for _, kind := range kinds {
		out = append(out, b.oceanEntryFor(path, kind, &e))
	}
	return out
}

// oceanEntryFor builds the Resource of one kind of an entry.
func (b *builder) oceanEntryFor(path, kind string, e *oceanEntry) Resource {
	special := oceanKinds[kind]
	r := Resource{
		Kind:          oceanReadKind(kind),
		Selector:      Selector{Query: e.query},
		path:          path,
		mappingsPath:  e.mappingsPath,
		singleMapping: e.singleMapping,
	}
	if r.Kind != kind {
		r.DocumentKind = kind
	}
	policy := e.policy
	r.Selector.AWS = AWSSelector{Document: DocumentOcean, RegionPolicy: &policy}
	// useGetResourceAPI: false (or Ocean's default, when not set) maps the
	// list properties; this exporter reads full properties unless told.
	r.Selector.AWS.TrustListProperties = e.useGetResourceAPI != nil && !*e.useGetResourceAPI && !special.alwaysGet
	r.Port.Entity.Mappings = make([]Mapping, len(e.mappings))
	copy(r.Port.Entity.Mappings, e.mappings)
	kindPath := path + ".kind"
	switch {
	case special.note != "" && special.matched:
		b.note(kindPath, "%s: %s", kind, special.note)
	case special.note != "":
		b.warn(kindPath, "%s cannot be read as Ocean reads it: %s", kind, special.note)
	}
	switch {
	case special.layout == LayoutOwn || special.layout == LayoutFlat:
		// Read by their own call in Ocean too: useGetResourceAPI does not apply.
	case e.useGetResourceAPI == nil && special.alwaysGet:
		// Ocean reads each one with GetResource too.
	case e.useGetResourceAPI == nil:
		b.note(path+".selector", "useGetResourceAPI not set: every resource is read with GetResource (all its properties), "+
			"where Ocean maps what ListResources returns; set useGetResourceAPI: false to do as Ocean (faster, fewer properties for many types)")
	case special.alwaysGet && !*e.useGetResourceAPI:
		b.note(path+".selector.useGetResourceAPI", "false has no effect on %s: Ocean, and this exporter, read each one with GetResource", kind)
	}
	if len(r.Port.Entity.Mappings) == 0 && e.mappingsPath == "" {
		b.warn(path+".port.entity.mappings", "no mappings: resources of this kind produce no entities")
	}
	return r
}

// oceanExpr reads a jq expression as Ocean runs it (OceanQuotes).
func (b *builder) oceanExpr(dst *string) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind == kindString {
			*dst = OceanQuotes(n.str)
		}
	}
}

// oceanFields reads properties{} or relations{}: each a jq expression,
// rewritten as Ocean does. Objects (Ocean's search relations) are reported.
func (b *builder) oceanFields(dst *Fields, what string) func(string, *node) {
	return func(path string, n *node) {
		if n.kind != kindObject {
			return
		}
		out := make(Fields, 0, len(n.members))
		for _, m := range n.members {
			switch m.value.kind {
			case kindString:
				out = append(out, Field{Name: m.key, Expr: OceanQuotes(m.value.str)})
			case kindObject:
				b.problem(Key(path, m.key), "a search %s (combinator and rules) finds its target among Port's entities; "+
					"this exporter maps from AWS only: write a jq expression giving the target's identifier", what)
			}
		}
		*dst = out
	}
}

func (b *builder) oceanMapping(path string, n *node) Mapping {
	var m Mapping
	searchQuery := func(field string) func(string, *node) {
		return func(path string, n *node) {
			switch n.kind {
			case kindString:
				v := OceanQuotes(n.str)
				if field == "identifier" {
					m.Identifier = v
				} else {
					m.Team = v
				}
			case kindObject:
				b.problem(path, "a search %s (combinator and rules) matches entities already in Port; this exporter "+
					"creates entities from AWS only: write a jq expression", field)
			}
		}
	}
	b.object(path, n, map[string]func(string, *node){
		"identifier": searchQuery("identifier"),
		"title":      b.oceanExpr(&m.Title),
		"blueprint":  b.oceanExpr(&m.Blueprint),
		"icon":       b.oceanExpr(&m.Icon),
		"team":       searchQuery("team"),
		"properties": b.oceanFields(&m.Properties, "property"),
		"relations":  b.oceanFields(&m.Relations, "relation"),
	})
	return m
}

// lenientWarnings tells, for the entries under Ocean's rules, which
// optional expressions do not compile: they map to null, as in Ocean, and
// the user should know. Expressions that name Ocean's AWS v3 document are
// pointed out too.
func lenientWarnings(cfg *Config) []Problem {
	var out []Problem
	seen := map[Problem]bool{}
	add := func(p Problem) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		if r.Selector.AWS.Document != DocumentOcean {
			continue
		}
		check := func(path, expr string, optional bool) {
			if strings.Contains(expr, "__ExtraContext") {
				add(Problem{Path: path, Message: "__ExtraContext is in the documents of Ocean's AWS v3 integration; this exporter gives " +
					"those of Ocean's AWS integration: use .__AccountId and .__Region"})
			}
			if !optional || expr == "" {
				return
			}
			if _, err := jq.Compile(expr); err != nil {
				add(Problem{Path: path, Message: fmt.Sprintf("%v: Ocean sends null for it, and so does this exporter; fix the expression", err)})
			}
		}
		check(r.pathAt(i)+".selector.query", r.Selector.Query, false)
		for j := range r.Port.Entity.Mappings {
			m := &r.Port.Entity.Mappings[j]
			mp := r.mappingPathAt(i, j)
			check(mp+".identifier", m.Identifier, false)
			check(mp+".title", m.Title, true)
			check(mp+".icon", m.Icon, true)
			check(mp+".team", m.Team, true)
			for _, f := range m.Properties {
				check(Key(mp+".properties", f.Name), f.Expr, true)
			}
			for _, f := range m.Relations {
				check(Key(mp+".relations", f.Name), f.Expr, true)
			}
		}
	}
	return out
}
