package bench

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AccountID is the account of every generated resource.
const AccountID = "123456789012"

// Document is the Cloud Control description of the i-th resource of a kind in
// a region: the shape of a Lambda function (nested objects, arrays, tags as a
// key/value list), whatever the kind, so every kind costs the same to map.
func Document(kind, region string, i int) (identifier string, properties map[string]any) {
	name := fmt.Sprintf("%s-%s-%06d", Blueprint(kind), region, i)
	arn := fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service(kind), region, AccountID, Blueprint(kind), name)
	return name, map[string]any{
		"Name":             name,
		"Arn":              arn,
		"Role":             "arn:aws:iam::" + AccountID + ":role/" + name,
		"Runtime":          "python3.12",
		"Handler":          "app.handler",
		"MemorySize":       128 * (1 + i%8),
		"Timeout":          30,
		"State":            "Active",
		"Description":      "benchmark resource " + name,
		"EphemeralStorage": map[string]any{"Size": 512},
		"Architectures":    []any{"arm64"},
		"Environment":      map[string]any{"Variables": map[string]any{"TABLE": "orders", "STAGE": "prod"}},
		"Tags": []any{
			map[string]any{"Key": "team", "Value": fmt.Sprintf("team-%d", i%7)},
			map[string]any{"Key": "env", "Value": "prod"},
		},
	}
}

// Blueprint is the Port blueprint a kind maps to: its type name in lower
// case without the AWS:: prefix and separators (AWS::SQS::Queue → sqsqueue).
func Blueprint(kind string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(kind, "AWS::"), "::", ""))
}

func service(kind string) string {
	parts := strings.Split(kind, "::")
	if len(parts) < 2 {
		return "unknown"
	}
	return strings.ToLower(parts[1])
}

// Selector and Properties are the mapping every kind uses: a selector, an
// identifier, a title and twelve properties of the kinds Port's published
// configs use (plain fields, string building, nested paths, a conditional,
// a split, a tags-to-object transform).
const Selector = `.Name | startswith("amplify") | not`

// Properties maps each Port property to its jq expression, with the JSON
// schema type the blueprint declares for it.
var Properties = []struct{ Name, Query, Type string }{
	{"link", `"https://console.aws.amazon.com/go/view?arn=" + .Arn`, "string"},
	{"memorySize", `.MemorySize`, "number"},
	{"timeout", `.Timeout`, "number"},
	{"runtime", `.Runtime`, "string"},
	{"ephemeralStorageSize", `.EphemeralStorage.Size`, "number"},
	{"architectures", `.Architectures`, "array"},
	{"environment", `.Environment.Variables`, "object"},
	{"iamRole", `.Role | if . == null then null else "https://console.aws.amazon.com/go/view?arn=" + . end`, "string"},
	{"account", `.Arn | split(":")[4]`, "string"},
	{"tags", `.Tags // [] | map({(.Key): .Value}) | add`, "object"},
	{"state", `.State | ascii_downcase`, "string"},
	{"description", `.Description`, "string"},
}

// ConfigJSON is the exporter config of a scenario: one entry per kind, the
// scenario's regions, the shared mapping.
func ConfigJSON(sc Scenario) []byte {
	props := map[string]string{}
	for _, p := range Properties {
		props[p.Name] = p.Query
	}
	type mappingJSON struct {
		Identifier string            `json:"identifier"`
		Title      string            `json:"title"`
		Blueprint  string            `json:"blueprint"`
		Properties map[string]string `json:"properties"`
	}
	var resources []any
	for _, kind := range sc.Kinds {
		resources = append(resources, map[string]any{
			"kind": kind,
			"selector": map[string]any{
				"query": Selector,
				// The emulator is Cloud Control: kinds the original exporter
				// read through Describe APIs must say so.
				"aws": map[string]any{"regions": sc.Regions, "reader": "cloudcontrol", "trust_list_properties": sc.TrustList},
			},
			"port": map[string]any{"entity": map[string]any{"mappings": []mappingJSON{{
				Identifier: ".Name", Title: ".Name", Blueprint: `"` + Blueprint(kind) + `"`, Properties: props,
			}}}},
		})
	}
	out, err := json.Marshal(map[string]any{"resources": resources})
	if err != nil {
		panic(fmt.Sprintf("encode the bench config: %v", err)) // only strings, maps and slices
	}
	return out
}

// BlueprintJSON is the Port blueprint of a kind, with the schema the mapping fills.
func BlueprintJSON(kind string) []byte {
	props := map[string]any{}
	for _, p := range Properties {
		props[p.Name] = map[string]any{"type": p.Type}
	}
	out, err := json.Marshal(map[string]any{
		"identifier": Blueprint(kind), "title": kind,
		"schema": map[string]any{"properties": props},
	})
	if err != nil {
		panic(fmt.Sprintf("encode the %s blueprint: %v", kind, err))
	}
	return out
}

// JQProgram is the mapping as one jq program, for the jq binary: the same
// selector and expressions, one entity object per selected document.
func JQProgram(kind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `select(%s) | {identifier: (.Name), title: (.Name), blueprint: %q, properties: {`, Selector, Blueprint(kind))
	for i, p := range Properties {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: (%s)", p.Name, p.Query)
	}
	b.WriteString("}}")
	return b.String()
}
