package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
)

// RegionPath is the InputPathsMap name every rule uses for the event's region.
// It reads the envelope's region, which EventBridge sets for CloudTrail records
// (from awsRegion) and for service state events alike.
const RegionPath = "awsRegion"

// reservedMessageKeys are the message fields of the seed's contract and of
// this exporter's extension; an input path with one of these names would be
// shadowed in the template.
var reservedMessageKeys = map[string]bool{"resource_type": true, "region": true, "action": true, "identifier": true,
	"resource_identifier": true, "entity_identifier": true}

// Pattern is the rule's EventBridge event pattern. CloudTrail calls exclude
// failed calls (errorCode must not exist); several call groups or state events
// become alternatives under detail.$or.
func (k Kind) Pattern() map[string]any {
	r := k.Rule
	var branches []map[string]any
	for _, c := range r.Calls {
		b := map[string]any{
			"eventSource": []any{r.EventSource},
			"eventName":   c.EventNames,
			"errorCode":   []any{map[string]any{"exists": false}},
		}
		for key, v := range c.Detail {
			b[key] = v
		}
		branches = append(branches, b)
	}
	detailTypes := []any{CloudTrailDetailType}
	for _, s := range r.StateEvents {
		detailTypes = append(detailTypes, s.DetailType)
		branches = append(branches, s.Detail)
	}
	var detail map[string]any
	if len(branches) == 1 {
		detail = branches[0]
	} else {
		alts := make([]any, len(branches))
		for i, b := range branches {
			alts[i] = b
		}
		detail = map[string]any{"$or": alts}
	}
	return map[string]any{
		"source":      []any{r.Source},
		"detail-type": detailTypes,
		"detail":      detail,
	}
}

// InputTransformer is what EventBridge takes as a target's InputTransformer.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap"`
	InputTemplate string            `json:"InputTemplate"`
}

// InputTransformer renders the rule's transformer. The template is the seed's
// message contract: resource_type, region, action and identifier (jq evaluated
// against the message), the extension's resource_identifier and
// entity_identifier when the rule has them, plus one field per extracted value
// for the jq to read.
func (k Kind) InputTransformer() InputTransformer {
	paths := map[string]string{RegionPath: "$.region"}
	for name, p := range k.Rule.InputPaths {
		paths[name] = p
	}
	fields := []messageField{
		{"resource_type", k.Type},
		{"region", `"<` + RegionPath + `>"`},
		{"action", k.Rule.Action},
		{"identifier", k.Rule.Identifier},
	}
	if k.Rule.ResourceIdentifier != "" {
		fields = append(fields, messageField{"resource_identifier", k.Rule.ResourceIdentifier})
	}
	if k.Rule.EntityIdentifier != "" {
		fields = append(fields, messageField{"entity_identifier", k.Rule.EntityIdentifier})
	}
	names := make([]string, 0, len(k.Rule.InputPaths)+1)
	for name := range k.Rule.InputPaths {
		names = append(names, name)
	}
	// The region field holds jq source (a quoted literal), so jq that needs
	// the region's value, e.g. to build an ARN, reads it from a field of its own.
	if k.usesRegionValue() {
		names = append(names, RegionPath)
	}
	sort.Strings(names)
	for _, name := range names {
		// Inside quotes EventBridge inserts the value as is, and a path missing
		// from the event renders as "" (what the seed's jq relies on).
		fields = append(fields, messageField{name, "<" + name + ">"})
	}
	return InputTransformer{InputPathsMap: paths, InputTemplate: renderTemplate(fields)}
}

// regionValueRef finds jq reading the message's awsRegion field.
var regionValueRef = regexp.MustCompile(`\.` + RegionPath + `\b`)

// usesRegionValue reports whether the rule's jq reads the region's value.
func (k Kind) usesRegionValue() bool {
	for _, expr := range []string{k.Rule.Action, k.Rule.Identifier, k.Rule.ResourceIdentifier, k.Rule.EntityIdentifier} {
		if regionValueRef.MatchString(expr) {
			return true
		}
	}
	return false
}

type messageField struct{ key, value string }

// renderTemplate writes the fields as a JSON object, one per line, in order.
// HTML escaping is off so that placeholders keep their angle brackets.
func renderTemplate(fields []messageField) string {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, f := range fields {
		buf.WriteString("  ")
		buf.Write(marshalNoEscape(f.key))
		buf.WriteString(": ")
		buf.Write(marshalNoEscape(f.value))
		if i < len(fields)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}")
	return buf.String()
}

func marshalNoEscape(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings are encoded here; they always marshal.
		panic(fmt.Sprintf("marshal %v: %v", v, err))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// RuleName is the EventBridge rule name for the kind: letters, digits and -,
// at most 64 characters.
func (k Kind) RuleName() string { return "port-aws-exporter-sync-" + k.Name }
