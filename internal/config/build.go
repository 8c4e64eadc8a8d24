package config

import (
	"fmt"
	"slices"
)

// builder turns a parsed document into a Config, noting every type problem
// (as a problem) and every unknown key (as a warning) with its path.
type builder struct {
	problems []Problem
	warnings []Problem
}

func (b *builder) problem(path, format string, args ...any) {
	b.problems = append(b.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) warn(path, format string, args ...any) {
	b.warnings = append(b.warnings, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// pythonStateKeys are keys Port's Python exporter wrote into its own copy of
// the config to resume after a Lambda timeout (see COMPATIBILITY.md). A
// config saved from such a run still loads; the keys are ignored.
var pythonStateKeys = map[string]bool{
	"aws_entities": true, "skip_delete": true, "next_config_file_key": true, "bucket_name": true,
	"event": true, "port_client_id": true, "port_client_secret": true, "port_api_url": true, "keep_cred": true,
	"next_token": true, "list_parameters": true,
}

// object checks that n is an object and calls fn for each known key; it
// warns about unknown ones and reports keys written twice.
func (b *builder) object(path string, n *node, known map[string]func(path string, v *node)) {
	if n.kind == kindNull {
		return // an explicit null reads as "not set", as in Python's .get()
	}
	if n.kind != kindObject {
		b.problem(path, "must be an object, not %s", n.kind)
		return
	}
	seen := map[string]bool{}
	for _, m := range n.members {
		p := Key(path, m.key)
		if seen[m.key] {
			b.problem(p, "key written more than once; only one value can count")
			continue
		}
		seen[m.key] = true
		fn, ok := known[m.key]
		switch {
		case ok:
			fn(p, m.value)
		case pythonStateKeys[m.key]:
			b.warn(p, "state key of Port's Python exporter; ignored")
		default:
			b.warn(p, "unknown key; ignored")
		}
	}
}

func (b *builder) str(dst *string) func(string, *node) {
	return func(path string, n *node) {
		switch n.kind {
		case kindString:
			*dst = n.str
		case kindNull:
		default:
			b.problem(path, "must be a string, not %s", n.kind)
		}
	}
}

func (b *builder) boolean(dst *bool) func(string, *node) {
	return func(path string, n *node) {
		switch n.kind {
		case kindBool:
			*dst = n.boolean
		case kindNull:
		default:
			b.problem(path, "must be true or false, not %s", n.kind)
		}
	}
}

func (b *builder) optionalBool(dst **bool) func(string, *node) {
	return func(path string, n *node) {
		var v bool
		b.boolean(&v)(path, n)
		if n.kind == kindBool {
			*dst = &v
		}
	}
}

func (b *builder) strings(dst *[]string) func(string, *node) {
	return func(path string, n *node) {
		switch n.kind {
		case kindNull:
			return
		case kindArray:
		default:
			b.problem(path, "must be an array of strings, not %s", n.kind)
			return
		}
		out := make([]string, 0, len(n.items))
		for i, item := range n.items {
			if item.kind != kindString {
				b.problem(Index(path, i), "must be a string, not %s", item.kind)
				continue
			}
			out = append(out, item.str)
		}
		*dst = out
	}
}

func (b *builder) array(path string, n *node, fn func(path string, i int, item *node)) {
	switch n.kind {
	case kindNull:
		return
	case kindArray:
	default:
		b.problem(path, "must be an array, not %s", n.kind)
		return
	}
	for i, item := range n.items {
		fn(Index(path, i), i, item)
	}
}

// fields reads properties{} or relations{}: names to jq expressions, in
// order. Duplicates are kept for Validate to report with the others.
func (b *builder) fields(dst *Fields) func(string, *node) {
	return func(path string, n *node) {
		switch n.kind {
		case kindNull:
			return
		case kindObject:
		default:
			b.problem(path, "must be an object of jq expressions, not %s", n.kind)
			return
		}
		out := make(Fields, 0, len(n.members))
		for _, m := range n.members {
			if m.value.kind != kindString {
				b.problem(Key(path, m.key), "must be a jq expression (a string), not %s", m.value.kind)
				continue
			}
			out = append(out, Field{Name: m.key, Expr: m.value.str})
		}
		*dst = out
	}
}

func (b *builder) config(root *node) *Config {
	cfg := &Config{}
	haveResources := false
	if root.kind != kindObject {
		b.problem("", "the config must be a JSON object with a \"resources\" array, not %s", root.kind)
		return cfg
	}
	b.object("", root, map[string]func(string, *node){
		"resources": func(path string, n *node) {
			haveResources = n.kind != kindNull
			cfg.Resources = []Resource{}
			b.array(path, n, func(path string, _ int, item *node) {
				cfg.Resources = append(cfg.Resources, b.resource(path, item))
			})
		},
		"deleteDependents":             b.optionalBool(&cfg.DeleteDependents),
		"createMissingRelatedEntities": b.optionalBool(&cfg.CreateMissingRelatedEntities),
	})
	if !haveResources {
		// Port's exporter asserted this too ("resources key is missing").
		b.problem("resources", "missing: the config must list the resources to export")
	} else if len(cfg.Resources) == 0 {
		b.warn("resources", "empty: nothing will be exported")
	}
	return cfg
}

func (b *builder) resource(path string, n *node) Resource {
	var r Resource
	b.object(path, n, map[string]func(string, *node){
		"kind": b.str(&r.Kind),
		"selector": func(path string, n *node) {
			b.object(path, n, map[string]func(string, *node){
				"query": b.str(&r.Selector.Query),
				"aws": func(path string, n *node) {
					b.awsSelector(path, n, &r.Selector.AWS)
				},
			})
		},
		"port": func(path string, n *node) {
			b.object(path, n, map[string]func(string, *node){
				"entity": func(path string, n *node) {
					known := map[string]func(string, *node){
						"mappings": func(path string, n *node) {
							b.array(path, n, func(path string, _ int, item *node) {
								r.Port.Entity.Mappings = append(r.Port.Entity.Mappings, b.mapping(path, item))
							})
						},
					}
					// Port's own published EKS config has relations here,
					// where Port's exporter ignored them: say where they belong.
					for _, field := range mappingFields {
						known[field] = func(path string, _ *node) {
							b.warn(path, "ignored: %s belongs inside each entry of mappings", field)
						}
					}
					b.object(path, n, known)
				},
			})
		},
	})
	if len(r.Port.Entity.Mappings) == 0 {
		b.warn(Key(path, "port")+".entity.mappings", "no mappings: resources of this kind produce no entities")
	}
	return r
}

func (b *builder) awsSelector(path string, n *node, s *AWSSelector) {
	b.object(path, n, map[string]func(string, *node){
		"regions": b.strings(&s.Regions),
		"regions_config": func(path string, n *node) {
			switch n.kind {
			case kindNull:
				return
			case kindObject:
			default:
				b.problem(path, "must be an object keyed by region, not %s", n.kind)
				return
			}
			s.RegionsConfig = map[string]RegionConfig{}
			seen := map[string]bool{}
			for _, m := range n.members {
				p := Key(path, m.key)
				if seen[m.key] {
					b.problem(p, "region written more than once; only one value can count")
					continue
				}
				seen[m.key] = true
				var rc RegionConfig
				b.object(p, m.value, map[string]func(string, *node){
					"resources_models": b.strings(&rc.ResourcesModels),
				})
				s.RegionsConfig[m.key] = rc
			}
		},
		"trust_list_properties": b.boolean(&s.TrustListProperties),
	})
	if len(s.Regions) > 0 {
		for _, region := range sortedKeys(s.RegionsConfig) {
			if !slices.Contains(s.Regions, region) {
				b.warn(Key(path+".regions_config", region), "region is not in regions, so this setting has no effect")
			}
		}
	}
}

// mappingFields are the keys of one mapping.
var mappingFields = []string{"identifier", "title", "blueprint", "icon", "team", "properties", "relations", "itemsToParse"}

func (b *builder) mapping(path string, n *node) Mapping {
	var m Mapping
	b.object(path, n, map[string]func(string, *node){
		"identifier":   b.str(&m.Identifier),
		"title":        b.str(&m.Title),
		"blueprint":    b.str(&m.Blueprint),
		"icon":         b.str(&m.Icon),
		"team":         b.str(&m.Team),
		"properties":   b.fields(&m.Properties),
		"relations":    b.fields(&m.Relations),
		"itemsToParse": b.str(&m.ItemsToParse),
	})
	return m
}
