package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Conversion between the two dialects, so that a user can move from one to
// the other (config convert). Both give the same entities from the same
// resources in this exporter:
//
//   - config.json → port-app-config.yml: an expression E written for the
//     Cloud Control properties becomes .Properties | (E) (with .item kept
//     when the mapping parses items), the selector is made a boolean with
//     Port's exporter's truthiness, each mapping becomes an entry (Ocean's
//     mappings is one object), regions become regionPolicy.allow, a mapping's
//     itemsToParse becomes port.itemsToParse with the top-level transform
//     off, and trust_list_properties becomes useGetResourceAPI. Expressions
//     that Ocean's quote rewriting would change are protected (single quotes
//     written \u0027). Under Ocean's rules a property whose expression fails
//     is sent as null instead of failing the entity (a note says so).
//   - port-app-config.yml → config.json: expressions are kept and the entry
//     says selector.aws.document: ocean (this exporter's extension), so jq
//     sees Ocean's document; regionPolicy.allow becomes regions.
//
// What one format cannot say is returned as problems (path in the source
// document); the output is still written, as close as the format allows.

// Converted is a config written in another dialect.
type Converted struct {
	Data []byte
	// Problems are what the target format cannot say: the output behaves
	// otherwise there. Notes are differences worth knowing that keep the
	// same entities.
	Problems []Problem
	Notes    []Problem
}

type converter struct {
	problems, notes []Problem
}

func (c *converter) problem(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) note(path, format string, args ...any) {
	c.notes = append(c.notes, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) done(data []byte) *Converted {
	return &Converted{Data: data, Problems: uniqueProblems(c.problems), Notes: uniqueProblems(c.notes)}
}

// plainPath is a path of plain keys (.Arn, .EphemeralStorage.Size), which
// reads the same under .Properties.
var plainPath = regexp.MustCompile(`^(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// truthyJQ is Port's exporter's selector rule (Python truthiness) in jq.
const truthyJQ = `(. != null and . != false and . != 0 and . != "" and . != [] and . != {})`

// ToOcean writes cfg as a port-app-config.yml.
func ToOcean(cfg *Config) (*Converted, error) {
	c := &converter{}
	root := mappingNode()
	if cfg.DeleteDependents != nil {
		addPair(root, "deleteDependentEntities", boolNode(*cfg.DeleteDependents))
	}
	if cfg.CreateMissingRelatedEntities != nil {
		addPair(root, "createMissingRelatedEntities", boolNode(*cfg.CreateMissingRelatedEntities))
	}
	if cfg.EnableMergeEntity != nil {
		addPair(root, "enableMergeEntity", boolNode(*cfg.EnableMergeEntity))
	}
	if cfg.EntityDeletionThreshold != nil {
		addPair(root, "entityDeletionThreshold", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float",
			Value: strconv.FormatFloat(*cfg.EntityDeletionThreshold, 'g', -1, 64)})
	}
	if cfg.AWS != nil {
		n, err := awsNode(cfg.AWS)
		if err != nil {
			return nil, err
		}
		addPair(root, "aws", n)
	}
	resources := &yaml.Node{Kind: yaml.SequenceNode}
	lenientNoted := false
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		path := r.pathAt(i)
		ocean := r.Selector.AWS.Document == DocumentOcean
		if !ocean && !lenientNoted {
			lenientNoted = true
			c.note("resources", "under Ocean's rules a title, icon, team, property or relation whose expression fails is sent as null "+
				"(config.json fails the entity), and the selector must give a boolean (converted selectors do)")
		}
		if len(r.Port.Entity.Mappings) == 0 {
			c.problem(path+".port.entity.mappings", "no mappings: an entry of a port-app-config needs one; the entry is left out")
			continue
		}
		for region, rc := range r.Selector.AWS.RegionsConfig {
			if len(rc.ResourcesModels) > 0 {
				c.problem(Key(path+".selector.aws.regions_config", region)+".resources_models",
					"a port-app-config has no resource models: child types that need one cannot be listed")
			}
		}
		for j := range r.Port.Entity.Mappings {
			resources.Content = append(resources.Content, c.oceanEntry(r, i, j, ocean))
		}
	}
	addPair(root, "resources", resources)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("write port-app-config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write port-app-config: %w", err)
	}
	return c.done(buf.Bytes()), nil
}

// oceanEntry is one entry of the port-app-config for mapping j of r.
func (c *converter) oceanEntry(r *Resource, i, j int, ocean bool) *yaml.Node {
	m := &r.Port.Entity.Mappings[j]
	path := r.pathAt(i)
	items := !ocean && m.ItemsToParse != ""
	// tr is the expression for Ocean's document.
	tr := func(expr string) string {
		switch {
		case expr == "":
			return ""
		case ocean:
			return ProtectFromOceanQuotes(expr)
		case items:
			return ProtectFromOceanQuotes("(.Properties + {item: .item}) | (" + expr + ")")
		case plainPath.MatchString(strings.TrimSpace(expr)):
			return ".Properties" + strings.TrimSpace(expr) // .Arn reads .Properties.Arn
		}
		return ProtectFromOceanQuotes(".Properties | (" + expr + ")")
	}
	entry := mappingNode()
	kind := r.Kind
	if r.DocumentKind != "" {
		kind = r.DocumentKind
	}
	addPair(entry, "kind", strNode(kind))

	selector := mappingNode()
	query := strings.TrimSpace(r.Selector.Query)
	switch {
	case ocean && query != "":
		query = ProtectFromOceanQuotes(r.Selector.Query)
	case query == "" || query == "true":
		query = "true"
	default:
		query = ProtectFromOceanQuotes("(first(.Properties | (" + r.Selector.Query + ")) // null) | " + truthyJQ)
	}
	addPair(selector, "query", strNode(query))
	if layout := OceanLayout(kind); !ocean || layout == LayoutWrapped {
		addPair(selector, "useGetResourceAPI", boolNode(!r.Selector.AWS.TrustListProperties))
	}
	switch sel := r.Selector.AWS; {
	case sel.RegionPolicy != nil && (len(sel.RegionPolicy.Allow) > 0 || len(sel.RegionPolicy.Deny) > 0):
		policy := mappingNode()
		if len(sel.RegionPolicy.Allow) > 0 {
			addPair(policy, "allow", strList(sel.RegionPolicy.Allow))
		}
		if len(sel.RegionPolicy.Deny) > 0 {
			addPair(policy, "deny", strList(sel.RegionPolicy.Deny))
		}
		addPair(selector, "regionPolicy", policy)
	case len(sel.Regions) > 0:
		policy := mappingNode()
		addPair(policy, "allow", strList(sel.Regions))
		addPair(selector, "regionPolicy", policy)
	case sel.RegionPolicy == nil:
		c.note(path+".selector", "no regions: config.json reads the default region (AWS_REGION), a port-app-config every "+
			"enabled region of the account; add regionPolicy.allow to keep one region")
	}
	addPair(entry, "selector", selector)

	port := mappingNode()
	mapping := mappingNode()
	addPair(mapping, "identifier", strNode(tr(m.Identifier)))
	if m.Title != "" {
		addPair(mapping, "title", strNode(tr(m.Title)))
	}
	if name, ok := BlueprintName(m.Blueprint); ok {
		addPair(mapping, "blueprint", strNode(strconv.Quote(name)))
	} else {
		addPair(mapping, "blueprint", strNode(tr(m.Blueprint)))
	}
	if m.Icon != "" {
		addPair(mapping, "icon", strNode(tr(m.Icon)))
	}
	if m.Team != "" {
		addPair(mapping, "team", strNode(tr(m.Team)))
	}
	for _, fs := range []struct {
		key    string
		fields Fields
	}{{"properties", m.Properties}, {"relations", m.Relations}} {
		if len(fs.fields) == 0 {
			continue
		}
		obj := mappingNode()
		for _, f := range fs.fields {
			addPair(obj, f.Name, strNode(tr(f.Expr)))
		}
		addPair(mapping, fs.key, obj)
	}
	entity := mappingNode()
	addPair(entity, "mappings", mapping)
	addPair(port, "entity", entity)
	switch {
	case items:
		addPair(port, "itemsToParse", strNode(tr(m.ItemsToParse)))
		// config.json keeps the array in the document the item is added to.
		addPair(port, "itemsToParseTopLevelTransform", boolNode(false))
	case m.ItemsToParseName != "":
		addPair(port, "itemsToParse", strNode(ProtectFromOceanQuotes(m.ItemsToParse)))
		if m.ItemsToParseName != "item" {
			addPair(port, "itemsToParseName", strNode(m.ItemsToParseName))
		}
		if !m.ItemsTopLevelTransform {
			addPair(port, "itemsToParseTopLevelTransform", boolNode(false))
		}
	case ocean && m.ItemsToParse != "":
		// config.json with document ocean: items as config.json adds them.
		addPair(port, "itemsToParse", strNode(ProtectFromOceanQuotes(m.ItemsToParse)))
		addPair(port, "itemsToParseTopLevelTransform", boolNode(false))
		if !itemFree(r.Selector.Query) {
			c.problem(r.mappingPathAt(i, j)+".itemsToParse", "under Ocean's rules the selector is evaluated per item, with the item in the document")
		}
	}
	addPair(entry, "port", port)
	return entry
}

// itemFree reports whether a selector cannot see an item added to the
// document: none, true, or one of the forms ToOcean writes, which read
// .Properties only.
func itemFree(query string) bool {
	q := strings.TrimSpace(query)
	return q == "" || q == "true" || strings.HasPrefix(q, ".Properties | (") || strings.HasPrefix(q, "(first(.Properties | (")
}

// ToExporter writes cfg as config.json.
func ToExporter(cfg *Config) (*Converted, error) {
	c := &converter{}
	out := exporterDocument{
		DeleteDependents:             cfg.DeleteDependents,
		CreateMissingRelatedEntities: cfg.CreateMissingRelatedEntities,
		AWS:                          cfg.AWS,
		Resources:                    []exporterResource{},
	}
	if t := cfg.EntityDeletionThreshold; t != nil {
		c.problem("entityDeletionThreshold", "config.json has no delete-share setting: run the exporter with --max-delete-share %s "+
			"(or MAX_DELETE_SHARE) to keep it", strconv.FormatFloat(*t, 'g', -1, 64))
	}
	if m := cfg.EnableMergeEntity; m != nil && !*m {
		c.note("enableMergeEntity", "left out: this exporter always merges")
	}
	var oceanEntries, everyRegion []string
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		path := r.pathAt(i)
		kind := r.Kind
		if r.DocumentKind != "" {
			kind = r.DocumentKind
		}
		res := exporterResource{Kind: kind}
		res.Selector.Query = r.Selector.Query
		aws := &res.Selector.AWS
		aws.Regions = slices.Clone(r.Selector.AWS.Regions)
		aws.RegionsConfig = r.Selector.AWS.RegionsConfig
		aws.TrustListProperties = r.Selector.AWS.TrustListProperties
		aws.Document = r.Selector.AWS.Document
		if aws.Document == DocumentOcean {
			oceanEntries = append(oceanEntries, path)
		}
		if p := r.Selector.AWS.RegionPolicy; p != nil {
			switch {
			case !p.allowAll():
				aws.Regions = p.Regions(p.Allow)
			case len(p.Deny) > 0:
				c.problem(path+".selector.regionPolicy.deny", "config.json lists the regions to read, it cannot read every region but "+
					"some: the default region is read unless it is denied; list the regions in selector.aws.regions")
			default:
				everyRegion = append(everyRegion, path)
			}
		}
		for j := range r.Port.Entity.Mappings {
			m := r.Port.Entity.Mappings[j]
			if m.ItemsToParseName != "" {
				// Exact when Ocean's rule adds nothing: the item named item,
				// the array kept, a selector that cannot see the item.
				if m.ItemsToParseName != "item" || m.ItemsTopLevelTransform || !itemFree(r.Selector.Query) {
					c.problem(path+".port.itemsToParse", "config.json parses items per mapping: the selector sees the resource (not each item), "+
						"the item is .item and the array stays in the document")
				}
				m.ItemsToParseName, m.ItemsTopLevelTransform = "", false
			}
			res.Port.Entity.Mappings = append(res.Port.Entity.Mappings, m)
		}
		if res.Port.Entity.Mappings == nil {
			res.Port.Entity.Mappings = []Mapping{}
		}
		out.Resources = append(out.Resources, res)
	}
	if len(everyRegion) > 0 {
		c.note("resources", "%d entr%s read every enabled region of the account under Ocean's format; config.json reads the default "+
			"region (AWS_REGION) unless selector.aws.regions lists regions (%s)", len(everyRegion), plural(len(everyRegion)), strings.Join(everyRegion, ", "))
	}
	if len(oceanEntries) > 0 {
		c.note("resources", "%d entr%s keep Ocean's document and jq rules (selector.aws.document: ocean, this exporter's extension: "+
			"Port's earlier exporter does not read it)", len(oceanEntries), plural(len(oceanEntries)))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("write config.json: %w", err)
	}
	return c.done(buf.Bytes()), nil
}

// exporterDocument is config.json as ToExporter writes it (the keys of
// Config, with empty sections left out).
type exporterDocument struct {
	Resources                    []exporterResource `json:"resources"`
	DeleteDependents             *bool              `json:"deleteDependents,omitempty"`
	CreateMissingRelatedEntities *bool              `json:"createMissingRelatedEntities,omitempty"`
	AWS                          *AWS               `json:"aws,omitempty"`
}

// awsNode writes the aws block (the same keys in both dialects) as block
// YAML: through JSON, which YAML reads, then unstyled.
func awsNode(a *AWS) (*yaml.Node, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("write aws block: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("write aws block: %w", err)
	}
	var unstyle func(n *yaml.Node)
	unstyle = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			unstyle(c)
		}
	}
	unstyle(&doc)
	return doc.Content[0], nil
}

type exporterResource struct {
	Kind     string `json:"kind"`
	Selector struct {
		Query string `json:"query,omitempty"`
		AWS   struct {
			Regions             []string                `json:"regions,omitempty"`
			RegionsConfig       map[string]RegionConfig `json:"regions_config,omitempty"`
			TrustListProperties bool                    `json:"trust_list_properties,omitempty"`
			Document            string                  `json:"document,omitempty"`
		} `json:"aws"`
	} `json:"selector"`
	Port Port `json:"port"`
}

// plural is the ending of "entr…".
func plural(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

func mappingNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func strList(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range items {
		n.Content = append(n.Content, strNode(s))
	}
	return n
}

func addPair(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, strNode(key), value)
}
