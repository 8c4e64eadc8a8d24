package config

import (
	"fmt"
	"slices"
)

// builder turns a parsed document into a Config. The schema has checked
// (or will check) the document's structure and types and warns about
// unknown keys, so the builder takes what has the right type and skips the
// rest silently. It reports what the schema cannot see: keys written twice
// (JSON Schema reads a document whose duplicate keys are already merged),
// and it notes the warnings that depend on more than one value.
type builder struct {
	problems []Problem
	warnings []Problem
	notes    []Problem // Ocean's defaults that differ here (ocean.go)
}

func (b *builder) problem(path, format string, args ...any) {
	b.problems = append(b.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) warn(path, format string, args ...any) {
	b.warnings = append(b.warnings, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// object calls fn for each key of n with one, and reports keys written
// twice (the first value counts). Other keys are the schema's business.
func (b *builder) object(path string, n *node, known map[string]func(path string, v *node)) {
	if n.kind != kindObject {
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
		if fn, ok := known[m.key]; ok {
			fn(p, m.value)
		}
	}
}

func (b *builder) str(dst *string) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind == kindString {
			*dst = n.str
		}
	}
}

func (b *builder) boolean(dst *bool) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind == kindBool {
			*dst = n.boolean
		}
	}
}

func (b *builder) optionalBool(dst **bool) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind == kindBool {
			v := n.boolean
			*dst = &v
		}
	}
}

func (b *builder) strings(dst *[]string) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind != kindArray {
			return
		}
		out := make([]string, 0, len(n.items))
		for _, item := range n.items {
			if item.kind == kindString {
				out = append(out, item.str)
			}
		}
		*dst = out
	}
}

func (b *builder) array(path string, n *node, fn func(path string, i int, item *node)) {
	if n.kind != kindArray {
		return
	}
	for i, item := range n.items {
		fn(Index(path, i), i, item)
	}
}

// fields reads properties{} or relations{}: names to jq expressions, in
// order. Duplicates are kept for Validate to report with the others.
func (b *builder) fields(dst *Fields) func(string, *node) {
	return func(_ string, n *node) {
		if n.kind != kindObject {
			return
		}
		out := make(Fields, 0, len(n.members))
		for _, m := range n.members {
			if m.value.kind == kindString {
				out = append(out, Field{Name: m.key, Expr: m.value.str})
			}
		}
		*dst = out
	}
}

func (b *builder) config(root *node) *Config {
	cfg := &Config{}
	b.object("", root, map[string]func(string, *node){
		"resources": func(path string, n *node) {
			if n.kind != kindArray {
				return
			}
			cfg.Resources = []Resource{}
			b.array(path, n, func(path string, _ int, item *node) {
				cfg.Resources = append(cfg.Resources, b.resource(path, item))
			})
		},
		"deleteDependents":             b.optionalBool(&cfg.DeleteDependents),
		"createMissingRelatedEntities": b.optionalBool(&cfg.CreateMissingRelatedEntities),
		"aws":                          b.awsBlock(cfg, false),
	})
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
					b.object(path, n, map[string]func(string, *node){
						"mappings": func(path string, n *node) {
							b.array(path, n, func(path string, _ int, item *node) {
								r.Port.Entity.Mappings = append(r.Port.Entity.Mappings, b.mapping(path, item))
							})
						},
					})
				},
			})
		},
	})
	if n.kind == kindObject && len(r.Port.Entity.Mappings) == 0 {
		b.warn(Key(path, "port")+".entity.mappings", "no mappings: resources of this kind produce no entities")
	}
	if r.Selector.AWS.Document == DocumentOcean {
		// Ocean's names for types that Cloud Control calls otherwise
		// (AWS::ELBV2::LoadBalancer) stay the document's __Kind.
		if read := oceanReadKind(r.Kind); read != r.Kind {
			r.DocumentKind, r.Kind = r.Kind, read
		}
	}
	if r.ReaderOf() == ReaderDescribe {
		aws := path + ".selector.aws"
		if r.Selector.AWS.TrustListProperties {
			b.warn(aws+".trust_list_properties", "no effect with the describe reader: its documents are always whole")
		}
		for _, region := range sortedKeys(r.Selector.AWS.RegionsConfig) {
			if len(r.Selector.AWS.RegionsConfig[region].ResourcesModels) > 0 {
				b.warn(Key(aws+".regions_config", region)+".resources_models", "no effect with the describe reader: resource models are Cloud Control's")
			}
		}
	}
	return r
}

func (b *builder) awsSelector(path string, n *node, s *AWSSelector) {
	b.object(path, n, map[string]func(string, *node){
		"regions": b.strings(&s.Regions),
		"regions_config": func(path string, n *node) {
			if n.kind != kindObject {
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
		"document":              b.str(&s.Document),
		"reader":                b.str(&s.Reader),
	})
	if len(s.Regions) > 0 {
		for _, region := range sortedKeys(s.RegionsConfig) {
			if !slices.Contains(s.Regions, region) {
				b.warn(Key(path+".regions_config", region), "region is not in regions, so this setting has no effect")
			}
		}
	}
}

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
