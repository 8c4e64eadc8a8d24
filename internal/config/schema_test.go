package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSchemaMatchesGoTypes: the schema and the Go types describe the same
// keys, level by level, so that neither can gain a key the other lacks.
func TestSchemaMatchesGoTypes(t *testing.T) {
	cs := loadSchema()
	checked := 0
	var walk func(path string, typ reflect.Type, s *node)
	walk = func(path string, typ reflect.Type, s *node) {
		s = cs.deref(s)
		if s == nil {
			t.Errorf("%s: no schema for Go type %s", path, typ)
			return
		}
		switch typ.Kind() {
		case reflect.Pointer:
			walk(path, typ.Elem(), s)
		case reflect.Slice:
			if typ == reflect.TypeFor[Fields]() {
				if ap := cs.deref(s.get("additionalProperties")); ap == nil || ap.get("type").str != "string" {
					t.Errorf("%s: Fields, but the schema's values are not strings", path)
				}
				checked++
				return
			}
			walk(path+"[]", typ.Elem(), s.get("items"))
		case reflect.Map:
			walk(path+"{}", typ.Elem(), s.get("additionalProperties"))
		case reflect.Struct:
			var goKeys, schemaKeys []string
			for f := range typ.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					continue
				}
				goKeys = append(goKeys, name)
				walk(Key(path, name), f.Type, s.get("properties").get(name))
			}
			for _, m := range s.get("properties").members {
				if ref := m.value.get("$ref"); ref != nil && ref.str == "#/$defs/misplacedMappingKey" {
					continue // a warning, not a key of the Go type
				}
				schemaKeys = append(schemaKeys, m.key)
			}
			slices.Sort(goKeys)
			slices.Sort(schemaKeys)
			if !slices.Equal(goKeys, schemaKeys) {
				t.Errorf("%s: Go type %s has keys %q, the schema %q", path, typ, goKeys, schemaKeys)
			}
			checked++
		default:
			want := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer"}[typ.Kind()]
			if types := s.get("type"); types == nil || !(types.str == want || slices.ContainsFunc(types.list(), func(n *node) bool { return n.str == want })) {
				t.Errorf("%s: Go %s, schema type is not %s", path, typ, want)
			}
			checked++
		}
	}
	walk("", reflect.TypeFor[Config](), cs.raw)
	if checked < 20 {
		t.Fatalf("checked %d keys and types, want at least 20", checked)
	}
}

// TestSchemaMessagesNameTheirKeywords: every message the schema gives is
// for a keyword of its own subschema (or required, looked up on the
// property), so a misspelled keyword cannot leave a message unused.
func TestSchemaMessagesNameTheirKeywords(t *testing.T) {
	messages := 0
	var walk func(ptr string, n *node)
	walk = func(ptr string, n *node) {
		switch n.kind {
		case kindObject:
			var msgs []member
			if xm := n.get("x-messages"); xm != nil {
				msgs = xm.members
			}
			for _, m := range msgs {
				messages++
				if m.key != "required" && n.get(m.key) == nil {
					t.Errorf("%s: message for %q, which the subschema does not use", ptr, m.key)
				}
				for _, ph := range []string{"{key}", "{key:q}", "{value:q}"} {
					m.value.str = strings.ReplaceAll(m.value.str, ph, "")
				}
				if strings.ContainsAny(m.value.str, "{}") {
					t.Errorf("%s: message %q has an unknown placeholder", ptr, m.value.str)
				}
			}
			for _, w := range n.get("x-warnings").list() {
				if n.get(w.str) == nil {
					t.Errorf("%s: warning keyword %q not in the subschema", ptr, w.str)
				}
			}
			for _, m := range n.members {
				walk(ptr+"/"+m.key, m.value)
			}
		case kindArray:
			for _, item := range n.items {
				walk(ptr+"/[]", item)
			}
		}
	}
	raw, err := parseTree(schemaJSON) // a copy: walk edits the messages
	if err != nil {
		t.Fatal(err)
	}
	walk("#", raw)
	if messages < 30 {
		t.Fatalf("%d messages in the schema, want at least 30", messages)
	}
}

// A Config built in Go (not read) is checked by the same schema.
func TestValidateConfigBuiltInGo(t *testing.T) {
	cfg := &Config{Resources: []Resource{{Kind: "", Port: Port{Entity: EntitySection{Mappings: []Mapping{
		{Identifier: " ", Blueprint: "lambda", Properties: Fields{{Name: "arn", Expr: ".Arn |"}, {Name: "b", Expr: ""}}},
	}}}}, {Kind: "AWS::Lambda::Function", Selector: Selector{AWS: AWSSelector{Regions: []string{"eu-west"}}},
		Port: Port{Entity: EntitySection{Mappings: []Mapping{{Identifier: ".a", Blueprint: "b"}}}}}}}
	var got []string
	for _, p := range Validate(cfg) {
		got = append(got, p.String())
	}
	want := []string{
		"resources[0].kind: missing: a Cloud Control type such as AWS::Lambda::Function",
		"resources[0].port.entity.mappings[0].identifier: missing: a jq expression giving the entity identifier, e.g. .FunctionName",
		`resources[0].port.entity.mappings[0].properties.arn: jq: parse error in ".Arn |": unexpected EOF at offset 6`,
		`resources[0].port.entity.mappings[0].properties.b: missing: a jq expression for property "b" (use null to send null)`,
		`resources[1].selector.aws.regions[0]: "eu-west" is not an AWS region name such as eu-west-1`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSchemaIsExported(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("Schema(): %v, $schema %v", err, doc["$schema"])
	}
	Schema()[0] = 'x'
	if schemaJSON[0] != '{' {
		t.Fatal("Schema() shares the embedded bytes")
	}
}

func TestParsePathInvertsKeyAndIndex(t *testing.T) {
	cases := [][]segment{
		{"resources", 2, "port", "entity", "mappings", 0, "properties", "arn"},
		{"resources", 0, "selector", "aws", "regions_config", "eu-west-1", "resources_models", 1},
		{"my weird key"}, {""}, {"a", `we"ird]`, 3}, {"x.y", "0"}, {"resources", 0, "kind"},
	}
	for _, segs := range cases {
		path := pathString(segs)
		if back := parsePath(path); !reflect.DeepEqual(back, segs) {
			t.Errorf("parsePath(%q) = %#v, want %#v", path, back, segs)
		}
	}
}
