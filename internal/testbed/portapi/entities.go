package portapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// MaxBulkUpsert and MaxBulkDelete are Port's bulk route limits.
const (
	MaxBulkUpsert = 20
	MaxBulkDelete = 100
)

// entityBody is Port's entity route schema. Pointers tell "not sent" from
// "sent empty", which merge=true depends on.
type entityBody struct {
	Identifier *string        `json:"identifier"`
	Title      *string        `json:"title"`
	Icon       *string        `json:"icon"`
	Team       any            `json:"team"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

type upsertFlags struct {
	upsert, merge, createMissing, validationOnly bool
}

// apiError is one failure with its HTTP status and Port error code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func unprocessable(format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "invalid_request", message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf(format, args...)}
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "access token body: "+err.Error())
		return
	}
	if body.ClientID != s.opts.ClientID || body.ClientSecret != s.opts.ClientSecret {
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid client credentials")
		return
	}
	token := newID(24)
	s.mu.Lock()
	s.tokens[token] = s.opts.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "accessToken": token, "expiresIn": int(s.opts.TokenTTL / time.Second), "tokenType": "Bearer",
	})
}

func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request) {
	flags, err := parseUpsertFlags(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body entityBody
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "entity body: "+err.Error())
		return
	}
	if body.Identifier != nil {
		if err := entity.ValidateIdentifier(*body.Identifier); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
			return
		}
	}
	s.mu.Lock()
	stored, _, aerr := s.upsertLocked(r.PathValue("blueprint"), body, flags, r.UserAgent())
	var out map[string]any
	if aerr == nil {
		out = entityJSON(stored)
	}
	s.mu.Unlock()
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "entity": out})
}

func (s *Server) handleBulkUpsert(w http.ResponseWriter, r *http.Request) {
	flags, err := parseUpsertFlags(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Entities []entityBody `json:"entities"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "bulk body: "+err.Error())
		return
	}
	if n := len(body.Entities); n < 1 || n > MaxBulkUpsert {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("entities must hold 1 to %d entities, got %d", MaxBulkUpsert, n))
		return
	}
	// The identifier pattern is part of the route's OpenAPI schema, so one
	// bad identifier fails the whole request rather than one index.
	for i, e := range body.Entities {
		if e.Identifier == nil {
			continue
		}
		if err := entity.ValidateIdentifier(*e.Identifier); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("entities[%d]: %v", i, err))
			return
		}
	}
	type result struct {
		Created    bool   `json:"created"`
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
	}
	type failure struct {
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
	}
	results, failures := []result{}, []failure{}
	s.mu.Lock()
	if _, ok := s.blueprints[r.PathValue("blueprint")]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", r.PathValue("blueprint")))
		return
	}
	for i, e := range body.Entities {
		stored, created, aerr := s.upsertLocked(r.PathValue("blueprint"), e, flags, r.UserAgent())
		if aerr != nil {
			id := ""
			if e.Identifier != nil {
				id = *e.Identifier
			}
			failures = append(failures, failure{Identifier: id, Index: i, StatusCode: aerr.status, Error: aerr.code, Message: aerr.message})
			continue
		}
		results = append(results, result{Created: created, Identifier: stored.Identifier, Index: i})
	}
	s.mu.Unlock()
	status := http.StatusOK
	if len(failures) > 0 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"ok": len(failures) == 0, "entities": results, "errors": failures})
}

// upsertLocked applies one entity write with Port's semantics; s.mu is held.
func (s *Server) upsertLocked(bpName string, body entityBody, flags upsertFlags, userAgent string) (StoredEntity, bool, *apiError) {
	bp, ok := s.blueprints[bpName]
	if !ok {
		return StoredEntity{}, false, notFound("blueprint %q not found", bpName)
	}
	// Port generates an identifier when none is sent; the double requires one
	// because an exporter entity without a stable identifier is a bug.
	if body.Identifier == nil {
		return StoredEntity{}, false, unprocessable("identifier is required")
	}
	id := *body.Identifier
	existing, exists := s.entities[bpName][id]
	if exists && !flags.upsert {
		return StoredEntity{}, false, &apiError{status: http.StatusConflict, code: "identifier_taken",
			message: fmt.Sprintf("entity %q already exists in blueprint %q; send upsert=true to update it", id, bpName)}
	}
	if err := bp.checkProperties(body.Properties); err != nil {
		return StoredEntity{}, false, unprocessable("%v", err)
	}
	team, err := parseTeam(body.Team)
	if err != nil {
		return StoredEntity{}, false, unprocessable("%v", err)
	}
	targets, aerr := bp.relationTargets(body.Relations)
	if aerr != nil {
		return StoredEntity{}, false, aerr
	}

	next := StoredEntity{Entity: entity.Entity{Blueprint: bpName, Identifier: id}}
	if exists && flags.merge {
		next = existing.clone()
	}
	if body.Title != nil {
		next.Title = *body.Title
	}
	if body.Icon != nil {
		next.Icon = *body.Icon
	}
	if body.Team != nil || !(exists && flags.merge) {
		next.Team = team
	}
	next.Properties = mergeFields(next.Properties, body.Properties)
	next.Relations = mergeFields(next.Relations, body.Relations)
	if err := bp.checkRequired(next.Properties, next.Relations); err != nil {
		return StoredEntity{}, false, unprocessable("%v", err)
	}

	var missing []entity.Ref
	for _, t := range targets {
		if _, ok := s.blueprints[t.Blueprint]; !ok {
			return StoredEntity{}, false, notFound("relation target blueprint %q not found", t.Blueprint)
		}
		if _, ok := s.entities[t.Blueprint][t.Identifier]; ok || (t == entity.Ref{Blueprint: bpName, Identifier: id}) {
			continue
		}
		if !flags.createMissing {
			return StoredEntity{}, false, notFound("related entity %q of blueprint %q not found; send create_missing_related_entities=true to create it", t.Identifier, t.Blueprint)
		}
		missing = append(missing, t)
	}
	if flags.validationOnly {
		return next, !exists, nil
	}
	now := s.opts.Now().UTC()
	for _, t := range missing {
		s.putLocked(StoredEntity{Entity: entity.Entity{Blueprint: t.Blueprint, Identifier: t.Identifier}, Datasource: userAgent, CreatedAt: now, UpdatedAt: now})
	}
	next.Datasource = userAgent
	next.UpdatedAt = now
	if !exists {
		next.CreatedAt = now
	}
	s.putLocked(next)
	return next, !exists, nil
}

func (s *Server) putLocked(e StoredEntity) {
	byID := s.entities[e.Blueprint]
	if byID == nil {
		byID = map[string]*StoredEntity{}
		s.entities[e.Blueprint] = byID
	}
	byID[e.Identifier] = &e
}

// relationTargets checks relation names and shapes, and returns every
// entity the relations point at.
func (bp *blueprint) relationTargets(rels map[string]any) ([]entity.Ref, *apiError) {
	names := make([]string, 0, len(rels))
	for name := range rels {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []entity.Ref
	for _, name := range names {
		schema, ok := bp.relations[name]
		if !ok {
			return nil, unprocessable("relation %q is not defined in the blueprint", name)
		}
		ids, err := relationIDs(schema.Many, rels[name])
		if err != nil {
			return nil, unprocessable("relation %q: %v", name, err)
		}
		for _, id := range ids {
			out = append(out, entity.Ref{Blueprint: schema.Target, Identifier: id})
		}
	}
	return out, nil
}

func relationIDs(many bool, v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	if !many {
		id, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be an identifier (string) or null, got %s", jsonType(v))
		}
		return []string{id}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is a many relation: must be an array of identifiers or null, got %s", jsonType(v))
	}
	ids := make([]string, 0, len(list))
	for i, item := range list {
		id, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("item %d must be an identifier (string), got %s", i, jsonType(item))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func parseTeam(v any) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return t, nil
	case []any:
		for i, item := range t {
			if _, ok := item.(string); !ok {
				return nil, fmt.Errorf("team[%d] must be a string, got %s", i, jsonType(item))
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("team must be a string or an array of strings, got %s", jsonType(v))
}

// mergeFields applies sent on top of base; a null removes the field.
func mergeFields(base, sent map[string]any) map[string]any {
	out := cloneMap(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range sent {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func (s *Server) handleGetEntity(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e, ok := s.entities[r.PathValue("blueprint")][r.PathValue("identifier")]
	var out map[string]any
	if ok {
		out = entityJSON(*e)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("entity %q not found", r.PathValue("identifier")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entity": out})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	deleteDependents, aerr := boolFlag(r, "delete_dependents")
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	bpName, id := r.PathValue("blueprint"), r.PathValue("identifier")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blueprints[bpName]; !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", bpName))
		return
	}
	if _, ok := s.entities[bpName][id]; !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("entity %q not found in blueprint %q", id, bpName))
		return
	}
	if aerr := s.deleteLocked(bpName, []string{id}, deleteDependents); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) handleBulkDelete(w http.ResponseWriter, r *http.Request) {
	deleteDependents, aerr := boolFlag(r, "delete_dependents")
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Entities []string `json:"entities"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "bulk delete body: "+err.Error())
		return
	}
	if n := len(body.Entities); n < 1 || n > MaxBulkDelete {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("entities must hold 1 to %d identifiers, got %d", MaxBulkDelete, n))
		return
	}
	bpName := r.PathValue("blueprint")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blueprints[bpName]; !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", bpName))
		return
	}
	// Identifiers that do not exist are not an error; they are just not in
	// deletedEntities (inferred: the spec only documents the success shape).
	deleted := []string{}
	for _, id := range body.Entities {
		if _, ok := s.entities[bpName][id]; ok {
			deleted = append(deleted, id)
		}
	}
	if aerr := s.deleteLocked(bpName, deleted, deleteDependents); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "deletedEntities": deleted})
}

// deleteLocked deletes ids of one blueprint. Entities elsewhere that relate to
// them are dependents: without deleteDependents their presence fails the
// whole request and nothing is deleted; with it they go too, transitively.
func (s *Server) deleteLocked(bpName string, ids []string, deleteDependents bool) *apiError {
	doomed := map[entity.Ref]bool{}
	queue := make([]entity.Ref, 0, len(ids))
	for _, id := range ids {
		ref := entity.Ref{Blueprint: bpName, Identifier: id}
		doomed[ref] = true
		queue = append(queue, ref)
	}
	for len(queue) > 0 {
		deps := s.dependentsLocked(queue, doomed)
		queue = queue[:0]
		if len(deps) == 0 {
			break
		}
		if !deleteDependents {
			d := deps[0]
			return &apiError{status: http.StatusUnprocessableEntity, code: "has_dependents",
				message: fmt.Sprintf("entity %q of blueprint %q relates to an entity being deleted; send delete_dependents=true to delete it too", d.Identifier, d.Blueprint)}
		}
		for _, d := range deps {
			doomed[d] = true
			queue = append(queue, d)
		}
	}
	for ref := range doomed {
		delete(s.entities[ref.Blueprint], ref.Identifier)
	}
	return nil
}

// dependentsLocked lists entities, not already doomed, with a relation to any of targets.
func (s *Server) dependentsLocked(targets []entity.Ref, doomed map[entity.Ref]bool) []entity.Ref {
	want := map[entity.Ref]bool{}
	for _, t := range targets {
		want[t] = true
	}
	var out []entity.Ref
	for bpName, byID := range s.entities {
		bp := s.blueprints[bpName]
		if bp == nil {
			continue
		}
		for _, e := range byID {
			if doomed[e.Ref()] {
				continue
			}
			for name, v := range e.Relations {
				rel, ok := bp.relations[name]
				if !ok {
					continue
				}
				ids, _ := relationIDs(rel.Many, v) // stored relations were validated on write
				if hasAny(want, rel.Target, ids) {
					out = append(out, e.Ref())
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func hasAny(want map[entity.Ref]bool, bp string, ids []string) bool {
	for _, id := range ids {
		if want[entity.Ref{Blueprint: bp, Identifier: id}] {
			return true
		}
	}
	return false
}

func parseUpsertFlags(r *http.Request) (upsertFlags, *apiError) {
	var f upsertFlags
	var err *apiError
	for name, dst := range map[string]*bool{
		"upsert": &f.upsert, "merge": &f.merge,
		"create_missing_related_entities": &f.createMissing, "validation_only": &f.validationOnly,
	} {
		if *dst, err = boolFlag(r, name); err != nil {
			return f, err
		}
	}
	return f, nil
}

// boolFlag reads a query flag; Port's flags default to false and accept only true/false.
func boolFlag(r *http.Request, name string) (bool, *apiError) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, unprocessable("query parameter %s must be true or false, got %q", name, v)
	}
}

// entityJSON is an entity as Port's API returns it.
func entityJSON(e StoredEntity) map[string]any {
	team := []any{}
	switch t := e.Team.(type) {
	case string:
		team = []any{t}
	case []any:
		team = t
	}
	props, rels := e.Properties, e.Relations
	if props == nil {
		props = map[string]any{}
	}
	if rels == nil {
		rels = map[string]any{}
	}
	return map[string]any{
		"identifier": e.Identifier, "title": e.Title, "icon": e.Icon, "blueprint": e.Blueprint,
		"team": team, "properties": props, "relations": rels,
		"createdAt": e.CreatedAt.Format(time.RFC3339Nano), "updatedAt": e.UpdatedAt.Format(time.RFC3339Nano),
	}
}

// readBody reads the whole body; over the limit it answers 413 before any parsing.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading body: "+err.Error())
		return nil, false
	}
	return data, true
}

// decodeStrict decodes one JSON value and rejects unknown fields and
// trailing data, as Port's route schemas (additionalProperties: false) do.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON body")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"ok":false,"error":"internal_error","message":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"ok": false, "error": code, "message": message})
}

func writeAPIError(w http.ResponseWriter, e *apiError) { writeError(w, e.status, e.code, e.message) }
