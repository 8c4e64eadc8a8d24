// Package library is the kinds catalog: for each supported Cloud Control type, the
// EventBridge rule that keeps it fresh, the default config.json mapping and the Port
// blueprint, kept consistent with each other, and the generators that turn a
// selection of kinds into CloudFormation, Terraform, config.json and blueprints.json.
//
// Each kind is one YAML file under kinds/, embedded in the binary. The Cloud Control
// primary identifiers and property names in them were taken from the CloudFormation
// resource schemas shipped with cfn-lint 1.51 (us-east-1); the CloudTrail field names
// come from the AWS API references and the real records the tests replay. Every file
// names its evidence.
package library

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

//go:embed kinds/*.yaml
var kindFiles embed.FS

// CloudTrailDetailType is the detail-type EventBridge gives to CloudTrail records.
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// Kind is one supported Cloud Control resource type with everything needed to
// sync it: its event rule, default mapping and blueprint.
type Kind struct {
	// Type is the Cloud Control type name, e.g. AWS::Lambda::Function.
	Type string `json:"type"`
	// Name is the short name accepted by --kinds, e.g. lambda-function.
	Name string `json:"name"`
	// PrimaryIdentifier lists the properties whose values, joined with "|", form
	// the Cloud Control identifier (the schema's primaryIdentifier).
	PrimaryIdentifier []string `json:"primaryIdentifier"`
	// Evidence says where the CloudTrail field names of the rule come from.
	Evidence string `json:"evidence"`
	// Limits says what the rule does not cover, for the README and `kinds list`.
	Limits    string    `json:"limits,omitempty"`
	Rule      Rule      `json:"rule"`
	Mapping   Mapping   `json:"mapping"`
	Blueprint Blueprint `json:"blueprint"`
}

// Rule is the event rule of a kind in structured form; Pattern and
// InputTransformer render it into what EventBridge takes.
type Rule struct {
	// Source is the EventBridge source, e.g. aws.lambda.
	Source string `json:"source"`
	// EventSource is the CloudTrail eventSource, e.g. lambda.amazonaws.com.
	EventSource string `json:"eventSource"`
	// Calls are the write API calls that change a resource of this kind.
	Calls []CallGroup `json:"calls"`
	// StateEvents are non-CloudTrail events the service sends about the kind.
	StateEvents []StateEvent `json:"stateEvents,omitempty"`
	// InputPaths are the InputPathsMap entries besides the region (always $.region).
	InputPaths map[string]string `json:"inputPaths"`
	// Action and Identifier are the jq expressions of the message, evaluated
	// against the message itself (the rendered InputTemplate).
	Action     string `json:"action"`
	Identifier string `json:"identifier"`
	// ResourceIdentifier and EntityIdentifier are the optional message fields
	// of this exporter's extension (resource_identifier, entity_identifier):
	// the Cloud Control identifier and the entity identifier whatever the
	// action. Kinds whose entity identifier is not their Cloud Control
	// identifier (an ARN built from a name) set both and no Identifier, which
	// is then derived from them (deriveIdentifier), so it cannot disagree.
	ResourceIdentifier string `json:"resourceIdentifier,omitempty"`
	EntityIdentifier   string `json:"entityIdentifier,omitempty"`
}

// deriveIdentifier fills Identifier from the extension's fields as the seed's
// contract defines it: the entity identifier for a delete, the Cloud Control
// identifier for an upsert. The action is evaluated again inside it, as each
// field of a message is a separate jq program.
func (r *Rule) deriveIdentifier() error {
	switch {
	case r.ResourceIdentifier == "" && r.EntityIdentifier == "":
		return nil
	case r.ResourceIdentifier == "" || r.EntityIdentifier == "":
		return errors.New("rule needs both resourceIdentifier and entityIdentifier, or neither")
	case r.Identifier != "":
		return errors.New("rule has resourceIdentifier and entityIdentifier, from which identifier is derived: drop identifier")
	}
	r.Identifier = "if (" + r.Action + ") == \"delete\" then (" + r.EntityIdentifier + ") else (" + r.ResourceIdentifier + ") end"
	return nil
}

// CallGroup is a set of CloudTrail event names that share one extra filter on
// the record, e.g. generic TagResource calls limited to ARNs of this kind.
type CallGroup struct {
	// EventNames are pattern alternatives: a string matches exactly, an object is
	// an EventBridge operator such as {"prefix": "CreateFunction20"}.
	EventNames []any `json:"eventNames"`
	// Detail is an additional pattern on the CloudTrail record (the event's detail).
	Detail map[string]any `json:"detail,omitempty"`
}

// StateEvent is a non-CloudTrail event of the kind's service.
type StateEvent struct {
	DetailType string `json:"detailType"`
	// Detail is a non-empty pattern on the event's detail that only this event has.
	Detail map[string]any `json:"detail"`
}

// Mapping is one entry of config.json's resources[] in the AWS exporter's format.
type Mapping struct {
	Kind     string          `json:"kind"`
	Selector MappingSelector `json:"selector"`
	Port     MappingPort     `json:"port"`
}

// MappingSelector decides which resources of the kind are mapped.
type MappingSelector struct {
	Query string `json:"query"`
	// AWS is where and how the kind is read: set by NewBundle for a global
	// service's kind (the one region its events carry, see global.go), and
	// for the kinds a config.json reads through a Describe API by default
	// (config.DescribeKinds), since the library's mappings read Cloud
	// Control documents.
	AWS *MappingAWS `json:"aws,omitempty"`
}

// MappingAWS is an entry's selector.aws.
type MappingAWS struct {
	Regions []string `json:"regions,omitempty"`
	Reader  string   `json:"reader,omitempty"`
}

// MappingPort holds the entity mappings of an entry.
type MappingPort struct {
	Entity MappingEntity `json:"entity"`
}

// MappingEntity lists the entities produced per resource.
type MappingEntity struct {
	Mappings []EntityMapping `json:"mappings"`
}

// EntityMapping is a set of jq expressions evaluated against the resource's
// Cloud Control properties document.
type EntityMapping struct {
	Identifier string            `json:"identifier"`
	Title      string            `json:"title,omitempty"`
	Blueprint  string            `json:"blueprint"`
	Properties map[string]string `json:"properties,omitempty"`
	Relations  map[string]string `json:"relations,omitempty"`
}

// Blueprint is a Port blueprint as POST /v1/blueprints takes it.
type Blueprint struct {
	Identifier string                  `json:"identifier"`
	Title      string                  `json:"title"`
	Icon       string                  `json:"icon,omitempty"`
	Schema     BlueprintSchema         `json:"schema"`
	Relations  map[string]BlueprintRel `json:"relations"`
}

// BlueprintSchema is the JSON-schema-like property schema of a blueprint.
type BlueprintSchema struct {
	Properties map[string]BlueprintProperty `json:"properties"`
	Required   []string                     `json:"required"`
}

// BlueprintProperty is one property of a blueprint.
type BlueprintProperty struct {
	Type        string         `json:"type"`
	Title       string         `json:"title,omitempty"`
	Format      string         `json:"format,omitempty"`
	Enum        []any          `json:"enum,omitempty"`
	Items       map[string]any `json:"items,omitempty"`
	Description string         `json:"description,omitempty"`
}

// BlueprintRel is a relation from a blueprint to another.
type BlueprintRel struct {
	Title    string `json:"title"`
	Target   string `json:"target"`
	Required bool   `json:"required"`
	Many     bool   `json:"many"`
}

var (
	loadOnce sync.Once
	loaded   []Kind
	loadErr  error
)

// All returns every kind of the library, sorted by type. The embedded data is
// checked once; a broken file is a programming error reported on first use.
func All() ([]Kind, error) {
	loadOnce.Do(func() { loaded, loadErr = load(kindFiles) })
	if loadErr != nil {
		return nil, loadErr
	}
	return append([]Kind(nil), loaded...), nil
}

func load(fsys fs.FS) ([]Kind, error) {
	names, err := fs.Glob(fsys, "kinds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list kind files: %w", err)
	}
	var kinds []Kind
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var k Kind
		if err := yaml.UnmarshalStrict(data, &k); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".yaml"); k.Name != want {
			return nil, fmt.Errorf("%s: name %q differs from its file name", name, k.Name)
		}
		if err := k.Rule.deriveIdentifier(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, key := range []string{k.Type, k.Name, k.Blueprint.Identifier} {
			if other, dup := seen[strings.ToLower(key)]; dup {
				return nil, fmt.Errorf("%s: %q is also used by %s", name, key, other)
			}
			seen[strings.ToLower(key)] = name
		}
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].Type < kinds[j].Type })
	return kinds, nil
}

// validate checks what the data must hold for the generators to be correct.
func (k Kind) validate() error {
	switch {
	case k.Type == "" || strings.Count(k.Type, "::") != 2:
		return fmt.Errorf("type %q is not a Cloud Control type name", k.Type)
	case len(k.PrimaryIdentifier) == 0:
		return fmt.Errorf("%s: primaryIdentifier is empty", k.Type)
	case k.Evidence == "":
		return fmt.Errorf("%s: evidence is empty", k.Type)
	case k.Rule.Source == "" || k.Rule.EventSource == "" || len(k.Rule.Calls) == 0:
		return fmt.Errorf("%s: rule needs source, eventSource and calls", k.Type)
	case k.Rule.Action == "" || k.Rule.Identifier == "":
		return fmt.Errorf("%s: rule needs action and identifier expressions", k.Type)
	case k.Mapping.Kind != k.Type:
		return fmt.Errorf("%s: mapping kind is %q", k.Type, k.Mapping.Kind)
	case len(k.Mapping.Port.Entity.Mappings) != 1:
		return fmt.Errorf("%s: the default mapping must have exactly one entity mapping", k.Type)
	case k.Mapping.Port.Entity.Mappings[0].Blueprint != jsonString(k.Blueprint.Identifier):
		return fmt.Errorf("%s: mapping blueprint %s does not name blueprint %q", k.Type,
			k.Mapping.Port.Entity.Mappings[0].Blueprint, k.Blueprint.Identifier)
	}
	for name := range k.Rule.InputPaths {
		if name == RegionPath || reservedMessageKeys[name] {
			return fmt.Errorf("%s: input path name %q collides with a message field", k.Type, name)
		}
	}
	for _, expr := range []string{k.Rule.Action, k.Rule.Identifier, k.Rule.ResourceIdentifier, k.Rule.EntityIdentifier} {
		if strings.Contains(expr, "\n") {
			return fmt.Errorf("%s: jq expression %q spans lines; keep it on one line so the message reads well", k.Type, expr)
		}
		// EventBridge would take <name> inside the template as a placeholder.
		if m := placeholderLike.FindString(expr); m != "" {
			return fmt.Errorf("%s: jq expression %q contains %s, which EventBridge reads as a placeholder", k.Type, expr, m)
		}
	}
	for i, c := range k.Rule.Calls {
		if len(c.EventNames) == 0 {
			return fmt.Errorf("%s: calls[%d] has no event names", k.Type, i)
		}
	}
	for i, s := range k.Rule.StateEvents {
		if s.DetailType == "" || len(s.Detail) == 0 {
			return fmt.Errorf("%s: stateEvents[%d] needs detailType and a detail pattern", k.Type, i)
		}
	}
	for prop := range k.Mapping.Port.Entity.Mappings[0].Properties {
		if _, ok := k.Blueprint.Schema.Properties[prop]; !ok {
			return fmt.Errorf("%s: mapped property %q is not in blueprint %s", k.Type, prop, k.Blueprint.Identifier)
		}
	}
	for rel := range k.Mapping.Port.Entity.Mappings[0].Relations {
		if _, ok := k.Blueprint.Relations[rel]; !ok {
			return fmt.Errorf("%s: mapped relation %q is not in blueprint %s", k.Type, rel, k.Blueprint.Identifier)
		}
	}
	return nil
}

var placeholderLike = regexp.MustCompile(`<[A-Za-z0-9_.-]+>`)

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Select resolves a --kinds list (types or short names, case-insensitive, or
// "all") into kinds, in the order given, without duplicates.
func Select(spec []string) ([]Kind, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	byKey := map[string]Kind{}
	for _, k := range all {
		byKey[strings.ToLower(k.Type)] = k
		byKey[strings.ToLower(k.Name)] = k
	}
	var out []Kind
	seen := map[string]bool{}
	for _, raw := range spec {
		key := strings.ToLower(strings.TrimSpace(raw))
		if key == "" {
			continue
		}
		if key == "all" {
			for _, k := range all {
				if !seen[k.Type] {
					seen[k.Type] = true
					out = append(out, k)
				}
			}
			continue
		}
		k, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("unknown kind %q: run `port-aws-exporter kinds list` for the supported ones", raw)
		}
		if !seen[k.Type] {
			seen[k.Type] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kinds selected: name some with --kinds, or all")
	}
	return out, nil
}

// EventsCovered lists the event names and detail-types the rule reacts to, for tables.
func (k Kind) EventsCovered() []string {
	var out []string
	for _, c := range k.Rule.Calls {
		for _, n := range c.EventNames {
			out = append(out, describeMatcher(n))
		}
	}
	for _, s := range k.Rule.StateEvents {
		out = append(out, s.DetailType)
	}
	return out
}

func describeMatcher(m any) string {
	switch v := m.(type) {
	case string:
		return v
	case map[string]any:
		for op, arg := range v {
			switch op {
			case "prefix":
				return fmt.Sprintf("%v*", arg)
			case "wildcard":
				return fmt.Sprint(arg)
			}
			return fmt.Sprintf("%s %v", op, arg)
		}
	}
	return fmt.Sprint(m)
}

// CloudControlIdentifier is the identifier formula, e.g. ServiceArn|Cluster.
func (k Kind) CloudControlIdentifier() string { return strings.Join(k.PrimaryIdentifier, "|") }
