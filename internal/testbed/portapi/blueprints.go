package portapi

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// blueprint is what the double keeps of a blueprint: the raw body to give
// back, and the parsed schema to validate entities with.
type blueprint struct {
	raw        map[string]any
	properties map[string]propertySchema
	required   []string
	relations  map[string]relationSchema
}

type propertySchema struct {
	Type   string          `json:"type"`
	Format string          `json:"format,omitempty"`
	Enum   []any           `json:"enum,omitempty"`
	Items  *propertySchema `json:"items,omitempty"`
}

type relationSchema struct {
	Target   string `json:"target"`
	Many     bool   `json:"many"`
	Required bool   `json:"required"`
}

// blueprintBody is the part of a blueprint the double understands. Other
// fields (calculationProperties, mirrorProperties, ...) are kept verbatim and
// not checked: the blueprint routes are not where the exporter is strict.
type blueprintBody struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
	Schema     struct {
		Properties map[string]propertySchema `json:"properties"`
		Required   []string                  `json:"required"`
	} `json:"schema"`
	Relations map[string]relationSchema `json:"relations"`
}

var propertyTypes = []string{"string", "number", "boolean", "object", "array"}

// Port's OpenAPI schema of the blueprint routes: property and relation
// names match ^[A-Za-z0-9@_=\-]+$ with at most 100 characters, a title has
// 1 to 100 characters, and a relation has no keys beyond these.
var (
	fieldName      = regexp.MustCompile(`^[A-Za-z0-9@_=\-]{1,100}$`)
	relationKeys   = []string{"title", "target", "required", "many", "description", "type"}
	maxFieldName   = 100
	maxTitleLength = 100
)

// checkRequiredFields is the route schema's "required" list: POST needs
// identifier, title and schema; PUT title and schema; PATCH nothing.
func checkRequiredFields(raw map[string]any, names ...string) *apiError {
	for _, name := range names {
		v, ok := raw[name]
		if !ok || v == nil {
			return unprocessable("body must have required property '%s'", name)
		}
	}
	if title, ok := raw["title"]; ok {
		if s, isString := title.(string); !isString || s == "" {
			return unprocessable("title must be a non-empty string")
		}
	}
	if schema, ok := raw["schema"]; ok {
		m, isObject := schema.(map[string]any)
		if !isObject {
			return unprocessable("schema must be an object")
		}
		if _, has := m["properties"]; !has {
			return unprocessable("schema must have required property 'properties'")
		}
	}
	return nil
}

func (s *Server) handleCreateBlueprint(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body blueprintBody
	var raw map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "blueprint body: "+err.Error())
		return
	}
	_ = json.Unmarshal(data, &raw) // same bytes parsed above, cannot fail
	if err := checkRequiredFields(raw, "identifier", "title", "schema"); err != nil {
		writeAPIError(w, err)
		return
	}
	bp, err := parseBlueprint(body, raw)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.blueprints[body.Identifier]; exists {
		writeError(w, http.StatusConflict, "identifier_taken", fmt.Sprintf("blueprint %q already exists", body.Identifier))
		return
	}
	for name, rel := range bp.relations {
		if _, ok := s.blueprints[rel.Target]; !ok && rel.Target != body.Identifier {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("relation %q targets blueprint %q, which does not exist", name, rel.Target))
			return
		}
	}
	now := s.opts.Now().UTC().Format(time.RFC3339Nano)
	bp.raw["createdAt"], bp.raw["updatedAt"] = now, now
	s.blueprints[body.Identifier] = bp
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "blueprint": bp.raw})
}

// AddBlueprint creates a blueprint from its JSON body, as POST /v1/blueprints
// would, for tests and the demo that set up a catalog without a client.
func (s *Server) AddBlueprint(body []byte) error {
	var parsed blueprintBody
	var raw map[string]any
	if err := json.Unmarshal(body, &parsed); err != nil {
		return fmt.Errorf("blueprint body: %w", err)
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return fmt.Errorf("blueprint body: %w", err)
	}
	bp, err := parseBlueprint(parsed, raw)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blueprints[parsed.Identifier] = bp
	return nil
}

func parseBlueprint(body blueprintBody, raw map[string]any) (*blueprint, error) {
	if err := entity.ValidateBlueprint(body.Identifier); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(body.Title); n > maxTitleLength {
		return nil, fmt.Errorf("title is %d characters long, Port accepts at most %d", n, maxTitleLength)
	}
	for name, p := range body.Schema.Properties {
		if !fieldName.MatchString(name) {
			return nil, fmt.Errorf("schema.properties: name %q does not match %s (at most %d characters)", name, fieldName, maxFieldName)
		}
		if err := checkPropertySchema(p); err != nil {
			return nil, fmt.Errorf("schema.properties.%s: %w", name, err)
		}
	}
	rawRels, _ := raw["relations"].(map[string]any)
	for name, rel := range rawRels {
		if !fieldName.MatchString(name) {
			return nil, fmt.Errorf("relations: name %q does not match %s (at most %d characters)", name, fieldName, maxFieldName)
		}
		fields, ok := rel.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("relations.%s: must be an object", name)
		}
		for key := range fields {
			if !slices.Contains(relationKeys, key) {
				return nil, fmt.Errorf("relations.%s: unknown key %q (allowed: %v)", name, key, relationKeys)
			}
		}
	}
	for _, name := range body.Schema.Required {
		if _, ok := body.Schema.Properties[name]; !ok {
			return nil, fmt.Errorf("schema.required names %q, which is not a property", name)
		}
	}
	for name, rel := range body.Relations {
		if rel.Target == "" {
			return nil, fmt.Errorf("relations.%s: target is required", name)
		}
	}
	props := body.Schema.Properties
	if props == nil {
		props = map[string]propertySchema{}
	}
	rels := body.Relations
	if rels == nil {
		rels = map[string]relationSchema{}
	}
	return &blueprint{raw: raw, properties: props, required: body.Schema.Required, relations: rels}, nil
}

func checkPropertySchema(p propertySchema) error {
	if !slices.Contains(propertyTypes, p.Type) {
		return fmt.Errorf("type %q is not one of %v", p.Type, propertyTypes)
	}
	if p.Items != nil {
		return checkPropertySchema(*p.Items)
	}
	return nil
}

func (s *Server) handleGetBlueprint(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	bp, ok := s.blueprints[r.PathValue("blueprint")]
	var body []byte
	if ok {
		body, _ = json.Marshal(map[string]any{"ok": true, "blueprint": bp.raw}) // built from decoded JSON, always encodable
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", r.PathValue("blueprint")))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// checkProperties validates properties against the blueprint schema, like
// Port's JSON-schema validation: a value of the wrong type, format or
// outside the enum is rejected, and null is accepted as "no value". A
// property the blueprint does not define is rejected with 422 too: that is
// how Port's schema validation behaves as far as its clients show (they
// create blueprint properties before writing them); port-api.md does not
// say, so the double takes the strict side, which catches a mapping that
// writes a property its blueprint lacks before Port would. Keys are checked in sorted order so the first
// problem reported is stable.
func (bp *blueprint) checkProperties(props map[string]any) error {
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		schema, ok := bp.properties[name]
		if !ok {
			return fmt.Errorf("property %q is not defined in the blueprint's schema", name)
		}
		if props[name] == nil {
			continue
		}
		if err := checkValue(schema, props[name]); err != nil {
			return fmt.Errorf("property %q: %w", name, err)
		}
	}
	return nil
}

func (bp *blueprint) checkRequired(props, rels map[string]any) error {
	for _, name := range bp.required {
		if props[name] == nil {
			return fmt.Errorf("required property %q is missing", name)
		}
	}
	for name, rel := range bp.relations {
		if rel.Required && isEmptyRelation(rels[name]) {
			return fmt.Errorf("required relation %q is missing", name)
		}
	}
	return nil
}

func isEmptyRelation(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	}
	return false
}

func checkValue(schema propertySchema, v any) error {
	switch schema.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string, got %s", jsonType(v))
		}
		if err := checkFormat(schema.Format, s); err != nil {
			return err
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("must be a number, got %s", jsonType(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("must be a boolean, got %s", jsonType(v))
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("must be an object, got %s", jsonType(v))
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("must be an array, got %s", jsonType(v))
		}
		if schema.Items != nil {
			for i, item := range items {
				if err := checkValue(*schema.Items, item); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
		}
	}
	if len(schema.Enum) > 0 && !slices.ContainsFunc(schema.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("value %v is not one of the enum %v", v, schema.Enum)
	}
	return nil
}

// checkFormat checks the JSON-schema formats Port validates; Port-specific
// formats (markdown, yaml, user, team, timer, ...) are free text here.
func checkFormat(format, s string) error {
	switch format {
	case "date-time":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%q is not a date-time (RFC 3339)", s)
		}
	case "url":
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("%q is not a URL", s)
		}
	case "email":
		if _, err := mail.ParseAddress(s); err != nil {
			return fmt.Errorf("%q is not an email address", s)
		}
	case "ipv4":
		if ip := net.ParseIP(s); ip == nil || ip.To4() == nil {
			return fmt.Errorf("%q is not an IPv4 address", s)
		}
	case "ipv6":
		if ip := net.ParseIP(s); ip == nil || ip.To4() != nil {
			return fmt.Errorf("%q is not an IPv6 address", s)
		}
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
