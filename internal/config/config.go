// Package config reads the AWS exporter's config.json, or Ocean's
// port-app-config.yml (from a file or s3://bucket/key, JSON or YAML; the
// content decides which, see Dialect and ocean.go) into Config, and checks
// it: every problem is reported at once with the JSON path where it is, e.g.
// resources[2].port.entity.mappings[0].properties.arn: jq: ...
//
// config.json is the format Port's Python AWS exporter read; COMPATIBILITY.md
// records what that exporter (and Ocean's AWS integration) did with each key
// and where this one differs. ToOcean and ToExporter convert between the two.
//
// # Who checks what
//
// The structure is described once, in the embedded JSON Schema schema.json
// (draft 2020-12, validated with santhosh-tekuri/jsonschema; Schema returns
// it). The schema checks, and words the problem for (its x-messages):
//   - the type of every key (null reads as "not set" where a key is
//     optional, and as missing where it is required);
//   - required keys: resources, kind, a mapping's identifier and blueprint;
//   - names: kind (AWS::Service::Type), regions, and the keys of
//     regions_config (ValidRegion uses the schema's pattern);
//   - blank values: an empty kind, identifier, blueprint or property
//     expression, an empty property or relation name;
//   - warnings (its x-warnings and additionalProperties: false): unknown keys
//     (the state keys Port's Python exporter wrote are named as such), an
//     empty resources list, mapping keys written beside mappings.
//
// Go checks what a JSON Schema cannot express: keys written twice (the
// schema sees the document after they are merged), every jq expression
// compiled (syntax, undefined functions, the sandbox's refusals of $ENV,
// env and input), a region listed twice, resources_models that are not JSON
// objects, a blueprint that is neither a name Port accepts nor jq, a
// property mapped twice, and the warnings that compare two values (a
// regions_config region that regions leaves out, a kind with no mappings).
// The Go types follow the schema key for key (TestSchemaMatchesGoTypes).
//
// CheckCatalog (catalog.go) checks, apart, what AWS publishes about the kinds
// (internal/catalog): a kind that does not exist (with the nearest names), one
// Cloud Control cannot read, a child kind without resource models, a kind
// missing from a region. `config validate` reports them; Validate does not, so
// that a type newer than the embedded catalogue never stops a sync. The
// schema's region pattern is the AWS SDK's partitions' (the catalogue's
// generator writes it).
//
// Problems are sorted by path: keys in the order the schema lists them,
// array items and free keys (property names, regions) in document order.
// Warnings come in document order.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Config is the whole config.json.
type Config struct {
	Resources []Resource `json:"resources"`

	// DeleteDependents is our extension: when the exporter deletes a stale
	// entity, also delete the entities that depend on it
	// (delete_dependents=true). Port's Python exporter always sent true;
	// nil means "not set" and lets the caller pick its default.
	DeleteDependents *bool `json:"deleteDependents,omitempty"`

	// CreateMissingRelatedEntities is our extension: upsert with
	// create_missing_related_entities=true, so a relation to an entity that
	// does not exist yet creates a placeholder instead of failing. Port's
	// Python exporter never set it (false).
	CreateMissingRelatedEntities *bool `json:"createMissingRelatedEntities,omitempty"`

	// AWS says which accounts to read (accounts.go); nil reads the
	// account of the exporter's own credentials.
	AWS *AWS `json:"aws,omitempty"`

	// Source is where the config was read from (a path or s3:// URL).
	Source string `json:"-"`

	// Dialect is the format the document was written in (Port's AWS
	// exporter's config.json, or Ocean's port-app-config.yml), and
	// DetectedBy the JSON path of what decided it ("" for config.json).
	Dialect    Dialect `json:"-"`
	DetectedBy string  `json:"-"`

	// EntityDeletionThreshold is Ocean's top-level entityDeletionThreshold
	// (nil when not set): the largest share of entities a sync may delete,
	// which the exporter applies as its delete-share guard.
	EntityDeletionThreshold *float64 `json:"-"`
	// EnableMergeEntity is Ocean's enableMergeEntity (nil when not set).
	// This exporter always upserts with merge=true; Validate warns about false.
	EnableMergeEntity *bool `json:"-"`

	// Notes say where this exporter does, by default, something other than
	// the format's original reader would (Ocean's defaults that differ); the
	// config works as it is.
	Notes []Problem `json:"-"`

	// Warnings are things worth telling the user that do not stop the
	// exporter: keys it does not know (kept working for compatibility),
	// settings that have no effect.
	Warnings []Problem `json:"-"`

	// decodeProblems are the schema's problems and keys written twice,
	// found while reading the document; Validate reports them with the
	// others.
	decodeProblems []Problem
	// tree is the document read (nil for a Config built in Go), for
	// ordering problems, and schema the schema of its dialect (nil: config.json's).
	tree   *node
	schema *compiledSchema
}

// Resource is one entry of resources[]: one Cloud Control type and how its
// resources become Port entities.
type Resource struct {
	Kind     string   `json:"kind"`
	Selector Selector `json:"selector"`
	Port     Port     `json:"port"`

	// DocumentKind is the kind the document names (__Kind) when the config
	// calls the type by another name than the one read: Ocean's
	// AWS::ELBV2::LoadBalancer is read as AWS::ElasticLoadBalancingV2::LoadBalancer.
	DocumentKind string `json:"-"`

	// path is where the entry is in the document read when it is not
	// resources[i] of this list (an entry of a port-app-config.yml, or one of
	// the entries a cloudResource entry expands to), and mappingsPath the
	// path of its mappings; singleMapping is set when mappings was one
	// object rather than a list.
	path          string
	mappingsPath  string
	singleMapping bool
}

// Selector chooses which resources of the kind are exported and where from.
type Selector struct {
	// Query is a jq expression evaluated against each resource's
	// properties; a falsy result skips the resource. Empty selects all.
	Query string      `json:"query,omitempty"`
	AWS   AWSSelector `json:"aws"`
}

// AWSSelector says where to read the kind.
type AWSSelector struct {
	// Regions to read from; empty means the exporter's default region.
	Regions []string `json:"regions,omitempty"`
	// RegionsConfig holds per-region settings, keyed by region.
	RegionsConfig map[string]RegionConfig `json:"regions_config,omitempty"`
	// TrustListProperties is our extension: map the properties returned by
	// ListResources and skip the GetResource call per resource. Faster, but
	// for many types the list handler returns only some properties.
	TrustListProperties bool `json:"trust_list_properties,omitempty"`
	// Document is our extension: what the entry's jq expressions see,
	// DocumentProperties (empty: the default, as Port's exporter) or
	// DocumentOcean (Ocean's document and jq rules; every entry of a
	// port-app-config.yml has it).
	Document string `json:"document,omitempty"`
	// RegionPolicy is Ocean's regionPolicy (nil in config.json): the entry
	// is read in the regions it allows (see RegionPolicy and Candidates).
	RegionPolicy *RegionPolicy `json:"-"`
	// Reader is our extension: which API reads the kind, ReaderCloudControl
	// or ReaderDescribe; empty means DefaultReader's choice.
	Reader string `json:"reader,omitempty"`
}

// Readers of selector.aws.reader.
const (
	// ReaderCloudControl reads a kind through Cloud Control: the jq sees the
	// type's Cloud Control properties document.
	ReaderCloudControl = "cloudcontrol"
	// ReaderDescribe reads one of DescribeKinds through its service's
	// Describe API, as Port's original exporter did: the jq sees that
	// API's item (internal/source/describe).
	ReaderDescribe = "describe"
)

// DescribeKinds are the kinds Port's original exporter read through their
// services' Describe APIs instead of Cloud Control (its handler_creator.py),
// and the only ones with a Describe reader.
var DescribeKinds = []string{
	"AWS::ACM::Certificate",
	"AWS::CloudFormation::Stack",
	"AWS::EC2::Instance",
	"AWS::ElastiCache::CacheCluster",
	"AWS::ElasticLoadBalancingV2::LoadBalancer",
}

// DefaultReader is the reader of kind when an entry names none: in a
// config.json, as in Port's original exporter, the Describe reader for
// DescribeKinds and Cloud Control for every other kind.
func DefaultReader(kind string) string {
	if slices.Contains(DescribeKinds, kind) {
		return ReaderDescribe
	}
	return ReaderCloudControl
}

// ReaderOf is the reader that reads r: its selector.aws.reader, or the default.
func (r *Resource) ReaderOf() string {
	if r.Selector.AWS.Reader != "" {
		return r.Selector.AWS.Reader
	}
	if r.Selector.AWS.Document == DocumentOcean {
		// Ocean reads every kind through Cloud Control.
		return ReaderCloudControl
	}
	return DefaultReader(r.Kind)
}

// RegionConfig holds the settings of one region.
type RegionConfig struct {
	// ResourcesModels are JSON documents (as strings) passed as Cloud
	// Control's ResourceModel, one listing per model: child types such as
	// AWS::ElasticLoadBalancingV2::Listener must name their parent.
	ResourcesModels []string `json:"resources_models,omitempty"`
}

// Port holds the port.entity section.
type Port struct {
	Entity EntitySection `json:"entity"`
}

// EntitySection holds the mappings of one resource.
type EntitySection struct {
	Mappings []Mapping `json:"mappings"`
}

// Mapping turns one resource (or one item of it) into one entity. Every
// field but Blueprint is a jq expression; Blueprint is a name, as in Port's
// exporter (see BlueprintName), or as our extension a jq expression.
type Mapping struct {
	Identifier   string `json:"identifier"`
	Title        string `json:"title,omitempty"`
	Blueprint    string `json:"blueprint"`
	Icon         string `json:"icon,omitempty"`
	Team         string `json:"team,omitempty"`
	Properties   Fields `json:"properties"`
	Relations    Fields `json:"relations,omitempty"`
	ItemsToParse string `json:"itemsToParse,omitempty"`

	// ItemsToParseName and ItemsTopLevelTransform carry Ocean's port-level
	// itemsToParse (ItemsToParseName is empty in config.json): each item is
	// added to the document under this key, the selector is evaluated per
	// item, and with ItemsTopLevelTransform the array itemsToParse points at
	// is first removed from the document.
	ItemsToParseName       string `json:"-"`
	ItemsTopLevelTransform bool   `json:"-"`
}

// Field is one named jq expression of properties{} or relations{}.
type Field struct {
	Name string
	Expr string
}

// Fields keeps the order the config wrote them in, so that problems are
// reported in reading order. Duplicate names are kept (and reported by
// Validate) rather than silently losing one.
type Fields []Field

// MarshalJSON writes the fields as a JSON object.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, field := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(field.Name))
		b.WriteByte(':')
		b.WriteString(jsonString(field.Expr))
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// jsonString is s as a JSON string, with <, > and & as they are (jq's
// (?<name>...) captures read better unescaped).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// Problem is one thing wrong (or, in Config.Warnings, worth a look) in a
// config, at a JSON path such as resources[0].selector.aws.regions[1].
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem of a config.
type ValidationError struct {
	Source   string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	src := e.Source
	if src == "" {
		src = "config"
	}
	fmt.Fprintf(&b, "%s: %d problem", src, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteByte('s')
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Key appends an object key to a path: .name when it reads plainly,
// ["odd name"] otherwise, so every path can be followed back unambiguously.
func Key(path, key string) string {
	if plainKey.MatchString(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// Index appends an array index to a path.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// ResourcePath is the path of resources[i].
func ResourcePath(i int) string { return Index("resources", i) }

// MappingPath is the path of resources[i].port.entity.mappings[j].
func MappingPath(i, j int) string { return Index(ResourcePath(i)+".port.entity.mappings", j) }

// MappingPath is the path of mapping j of cfg.Resources[i] in the document
// read: resources[i].port.entity.mappings[j] in config.json, and in a
// port-app-config.yml the entry's own (mappings written as one object have
// no index; the entries a cloudResource entry expands to share its path).
func (c *Config) MappingPath(i, j int) string { return c.Resources[i].mappingPathAt(i, j) }
