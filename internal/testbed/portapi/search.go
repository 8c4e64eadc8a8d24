package portapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Search limits of Port's paged search.
const (
	DefaultSearchLimit = 200
	MaxSearchLimit     = 1000
)

// queryRule is either a rule (property, operator, value) or a nested group
// (combinator, rules), as in Port's search language.
type queryRule struct {
	Property   string      `json:"property,omitempty"`
	Operator   string      `json:"operator,omitempty"`
	Value      any         `json:"value,omitempty"`
	Combinator string      `json:"combinator,omitempty"`
	Rules      []queryRule `json:"rules,omitempty"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Query   *queryRule `json:"query"`
		Include []string   `json:"include"`
		Limit   *int       `json:"limit"`
		From    *string    `json:"from"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "search body: "+err.Error())
		return
	}
	limit := DefaultSearchLimit
	if body.Limit != nil {
		limit = *body.Limit
	}
	if limit < 1 || limit > MaxSearchLimit {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("limit must be 1 to %d, got %d", MaxSearchLimit, limit))
		return
	}
	after := ""
	if body.From != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*body.From)
		if err != nil || len(raw) == 0 {
			writeError(w, http.StatusUnprocessableEntity, "invalid_request", "from is not a cursor this API returned")
			return
		}
		after = string(raw)
	}
	query := queryRule{Combinator: "and"}
	if body.Query != nil {
		query = *body.Query
	}
	if err := checkGroup(query); err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkInclude(body.Include); err != nil {
		writeAPIError(w, err)
		return
	}
	bpName := r.PathValue("blueprint")
	s.mu.Lock()
	if _, ok := s.blueprints[bpName]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", bpName))
		return
	}
	ids := make([]string, 0, len(s.entities[bpName]))
	for id := range s.entities[bpName] {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	page := []map[string]any{}
	next := ""
	for _, id := range ids {
		e := s.entities[bpName][id]
		if !matchGroup(query, e) {
			continue
		}
		if len(page) == limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1]["identifier"].(string)))
			break
		}
		page = append(page, entityJSON(*e))
	}
	s.mu.Unlock()
	for i := range page {
		page[i] = project(page[i], body.Include)
	}
	resp := map[string]any{"ok": true, "entities": page}
	if next != "" {
		resp["next"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleSearchAll(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		queryRule
		Include []string `json:"include"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "search body: "+err.Error())
		return
	}
	if body.Property != "" || body.Operator != "" || body.Value != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the search body is a group: combinator and rules")
		return
	}
	if err := checkGroup(body.queryRule); err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkInclude(body.Include); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	var found []map[string]any
	for _, byID := range s.entities {
		for _, e := range byID {
			if matchGroup(body.queryRule, e) {
				found = append(found, entityJSON(*e))
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a["blueprint"] != b["blueprint"] {
			return a["blueprint"].(string) < b["blueprint"].(string)
		}
		return a["identifier"].(string) < b["identifier"].(string)
	})
	for i := range found {
		found[i] = project(found[i], body.Include)
	}
	if found == nil {
		found = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entities": found})
}

var operators = map[string]bool{"=": true, "!=": true, "contains": true, "in": true}

func checkGroup(g queryRule) *apiError {
	if g.Combinator != "and" && g.Combinator != "or" {
		return unprocessable("combinator must be \"and\" or \"or\", got %q", g.Combinator)
	}
	for i, rule := range g.Rules {
		if rule.Combinator != "" || rule.Rules != nil {
			if rule.Property != "" || rule.Operator != "" {
				return unprocessable("rules[%d] mixes a rule and a group", i)
			}
			if err := checkGroup(rule); err != nil {
				return err
			}
			continue
		}
		if rule.Property == "" {
			return unprocessable("rules[%d]: property is required", i)
		}
		if !operators[rule.Operator] {
			return unprocessable("rules[%d]: operator %q is not supported (=, !=, contains, in)", i, rule.Operator)
		}
		if _, isList := rule.Value.([]any); rule.Operator == "in" && !isList {
			return unprocessable("rules[%d]: operator in needs an array value", i)
		}
		if _, isString := rule.Value.(string); rule.Operator == "contains" && !isString {
			return unprocessable("rules[%d]: operator contains needs a string value", i)
		}
	}
	return nil
}

func matchGroup(g queryRule, e *StoredEntity) bool {
	if len(g.Rules) == 0 {
		return true
	}
	for _, rule := range g.Rules {
		var ok bool
		if rule.Combinator != "" {
			ok = matchGroup(rule, e)
		} else {
			ok = matchRule(rule, e)
		}
		if g.Combinator == "or" && ok {
			return true
		}
		if g.Combinator == "and" && !ok {
			return false
		}
	}
	return g.Combinator == "and"
}

// matchRule evaluates one rule. A list-valued field (such as $team) matches
// when any of its elements does.
func matchRule(rule queryRule, e *StoredEntity) bool {
	field, present := fieldValue(rule.Property, e)
	candidates := []any{field}
	if list, ok := field.([]any); ok {
		candidates = list
	}
	anyOf := func(pred func(v any) bool) bool {
		for _, c := range candidates {
			if pred(c) {
				return true
			}
		}
		return false
	}
	switch rule.Operator {
	case "=":
		return present && anyOf(func(v any) bool { return reflect.DeepEqual(v, rule.Value) })
	case "!=":
		return !present || !anyOf(func(v any) bool { return reflect.DeepEqual(v, rule.Value) })
	case "contains":
		want := rule.Value.(string) // checkGroup made sure
		return present && anyOf(func(v any) bool { s, ok := v.(string); return ok && strings.Contains(s, want) })
	case "in":
		values := rule.Value.([]any)
		return present && anyOf(func(v any) bool {
			for _, want := range values {
				if reflect.DeepEqual(v, want) {
					return true
				}
			}
			return false
		})
	}
	return false
}

func fieldValue(name string, e *StoredEntity) (any, bool) {
	switch name {
	case "$identifier":
		return e.Identifier, true
	case "$title":
		return e.Title, true
	case "$blueprint":
		return e.Blueprint, true
	case "$icon":
		return e.Icon, true
	case "$datasource":
		return e.Datasource, true
	case "$createdAt":
		return e.CreatedAt.Format(time.RFC3339Nano), true
	case "$updatedAt":
		return e.UpdatedAt.Format(time.RFC3339Nano), true
	case "$team":
		switch t := e.Team.(type) {
		case string:
			return []any{t}, true
		case []any:
			return t, true
		}
		return []any{}, true
	}
	v, ok := e.Properties[name]
	return v, ok && v != nil
}

var includable = map[string]bool{
	"identifier": true, "title": true, "icon": true, "blueprint": true, "team": true,
	"properties": true, "relations": true, "createdAt": true, "updatedAt": true,
}

func checkInclude(include []string) *apiError {
	for _, f := range include {
		name := strings.TrimPrefix(f, "$")
		if prefix, _, ok := strings.Cut(name, "."); ok && (prefix == "properties" || prefix == "relations") {
			continue
		}
		if !includable[name] {
			return unprocessable("include: unknown field %q", f)
		}
	}
	return nil
}

// project keeps only the included fields ("$identifier" and "identifier"
// alike; "properties.x" keeps one property).
func project(e map[string]any, include []string) map[string]any {
	if len(include) == 0 {
		return e
	}
	out := map[string]any{}
	for _, f := range include {
		name := strings.TrimPrefix(f, "$")
		if prefix, key, ok := strings.Cut(name, "."); ok {
			src, _ := e[prefix].(map[string]any)
			dst, _ := out[prefix].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				out[prefix] = dst
			}
			if v, ok := src[key]; ok {
				dst[key] = v
			}
			continue
		}
		out[name] = e[name]
	}
	return out
}
