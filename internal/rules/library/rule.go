package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

// RegionPath is the InputPathsMap name every rule uses for the event's region.
// It reads the envelope's region, which EventBridge sets for CloudTrail records
// (from awsRegion) and for service state events alike; a global service's
// kind reads the record's awsRegion itself (see InputTransformer).
const RegionPath = "awsRegion"

// AccountPath and RecipientAccountPath are the InputPathsMap names of the
// event's account: the envelope's account ($.account, kept when a member
// account's rule forwards the event to a central bus) and, for CloudTrail
// records, the account the call was made in ($.detail.recipientAccountId).
// The message's account_id prefers the record's; state events have only
// the envelope's.
const (
	AccountPath          = "awsAccount"
	RecipientAccountPath = "awsRecipientAccount"
)

// reservedMessageKeys are the message fields of the seed's contract and of
// this exporter's extension; an input path with one of these names would be
// shadowed in the template.
var reservedMessageKeys = map[string]bool{"resource_type": true, "region": true, "action": true, "identifier": true,
	"resource_identifier": true, "entity_identifier": true, "account_id": true}

// Pattern is the rule's EventBridge event pattern. Every alternative excludes
// failed calls (errorCode must not exist): CloudTrail records a denied call
// with the caller's own request parameters. State events have no errorCode,
// so the exclusion changes nothing for them, but it keeps every alternative
// free of failed CloudTrail calls whatever the detail-type (rules lint checks
// each alternative). Several call groups or state events become alternatives
// under detail.$or.
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
		b := map[string]any{"errorCode": []any{map[string]any{"exists": false}}}
		for key, v := range s.Detail {
			b[key] = v
		}
		branches = append(branches, b)
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
//
// Every value taken from the event sits OUTSIDE quotes ("name": <name>), where
// EventBridge inserts a string JSON-quoted and escaped, and objects, arrays,
// numbers and booleans as JSON: whatever a caller puts in a request
// parameter stays the value of its own field and cannot add or replace
// fields of the message (inside quotes EventBridge inserts strings unescaped).
// A path the event does not have renders as null there (transform's
// decision), so the jq expressions treat null like "". The region field is jq
// reading the awsRegion field, rather than a quoted literal built from the
// value, for the same reason; resource_type is a constant of the rule.
//
// A global service's kind reads the region from the CloudTrail record
// ($.detail.awsRegion: where the call was recorded) rather than from the
// event: its rule also matches the events forwarded from that region, and
// the record says where they come from whatever the forwarding does with
// the event's own region field.
func (k Kind) InputTransformer() InputTransformer {
	regionPath := "$.region"
	if _, global := catalog.GlobalService(k.Type); global && len(k.Rule.StateEvents) == 0 {
		regionPath = "$.detail.awsRegion"
	}
	paths := map[string]string{RegionPath: regionPath, AccountPath: "$.account", RecipientAccountPath: "$.detail.recipientAccountId"}
	for name, p := range k.Rule.InputPaths {
		paths[name] = p
	}
	fields := []messageField{
		{key: "resource_type", value: k.Type},
		{key: "region", value: "." + RegionPath},
		{key: "action", value: k.Rule.Action},
		{key: "identifier", value: k.Rule.Identifier},
	}
	if k.Rule.ResourceIdentifier != "" {
		fields = append(fields, messageField{key: "resource_identifier", value: k.Rule.ResourceIdentifier})
	}
	if k.Rule.EntityIdentifier != "" {
		fields = append(fields, messageField{key: "entity_identifier", value: k.Rule.EntityIdentifier})
	}
	// The account the resource is in, so that one central queue serves
	// every account of an organization (docs/accounts.md).
	fields = append(fields, messageField{key: "account_id", value: "." + RecipientAccountPath + " // ." + AccountPath})
	// The region and account fields read these, so every message has them.
	names := []string{AccountPath, RecipientAccountPath, RegionPath}
	for name := range k.Rule.InputPaths {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fields = append(fields, messageField{key: name, placeholder: name})
	}
	return InputTransformer{InputPathsMap: paths, InputTemplate: renderTemplate(fields)}
}

// messageField is one field of the template: a constant string value, or
// an unquoted placeholder.
type messageField struct{ key, value, placeholder string }

// renderTemplate writes the fields as a JSON object, one per line, in order.
// HTML escaping is off so that placeholders keep their angle brackets.
func renderTemplate(fields []messageField) string {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, f := range fields {
		buf.WriteString("  ")
		buf.Write(marshalNoEscape(f.key))
		buf.WriteString(": ")
		if f.placeholder != "" {
			buf.WriteString("<" + f.placeholder + ">")
		} else {
			buf.Write(marshalNoEscape(f.value))
		}
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
