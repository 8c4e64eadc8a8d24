package portapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Blueprint update routes: PATCH lays the body over the blueprint (Port's
// "Update a blueprint": "send only the fields you want to add or change");
// PUT replaces it (Port's "Change a blueprint"). Either way the result must
// be a blueprint POST would accept, and its relation targets must exist.
//
// Inferred, not documented by Port: PATCH merges objects key by key at every
// depth (Port's Terraform provider adds one relation with a PATCH naming only
// it, and the others stay), replaces arrays and scalars, and removes a key
// whose value is null (JSON Merge Patch, RFC 7396); an identifier in the body
// must be the one in the path (a rename is not an update); a property or
// relation an update removes is removed from the blueprint's entities too.

func (s *Server) handlePatchBlueprint(w http.ResponseWriter, r *http.Request) {
	s.updateBlueprint(w, r, false)
}

func (s *Server) handlePutBlueprint(w http.ResponseWriter, r *http.Request) {
	s.updateBlueprint(w, r, true)
}

func (s *Server) updateBlueprint(w http.ResponseWriter, r *http.Request, replace bool) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var patch map[string]any
	if err := json.Unmarshal(data, &patch); err != nil || patch == nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "blueprint body must be a JSON object")
		return
	}
	id := r.PathValue("blueprint")
	if v, has := patch["identifier"]; has && v != id {
		writeAPIError(w, unprocessable("identifier %v in the body is not the blueprint %q of the path", v, id))
		return
	}
	if replace {
		if err := checkRequiredFields(patch, "title", "schema"); err != nil {
			writeAPIError(w, err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current, exists := s.blueprints[id]
	if !exists {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", id))
		return
	}
	var merged map[string]any
	if replace {
		merged = patch
		merged["createdAt"] = current.raw["createdAt"]
	} else {
		merged = mergePatch(deepCopy(current.raw), patch)
		if err := checkRequiredFields(merged, "title", "schema"); err != nil {
			writeAPIError(w, err)
			return
		}
	}
	merged["identifier"] = id
	encoded, _ := json.Marshal(merged) // decoded JSON, always encodable
	var body blueprintBody
	if err := json.Unmarshal(encoded, &body); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "blueprint body: "+err.Error())
		return
	}
	bp, err := parseBlueprint(body, merged)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	for name, rel := range bp.relations {
		if _, ok := s.blueprints[rel.Target]; !ok && rel.Target != id {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("relation %q targets blueprint %q, which does not exist", name, rel.Target))
			return
		}
	}
	bp.raw["updatedAt"] = s.opts.Now().UTC().Format(time.RFC3339Nano)
	s.blueprints[id] = bp
	s.dropRemovedFields(id, bp)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprint": bp.raw})
}

// dropRemovedFields removes from the blueprint's entities the properties and
// relations it no longer defines, as Port drops their values. Called with s.mu held.
func (s *Server) dropRemovedFields(id string, bp *blueprint) {
	for _, e := range s.entities[id] {
		for name := range e.Properties {
			if _, ok := bp.properties[name]; !ok {
				delete(e.Properties, name)
			}
		}
		for name := range e.Relations {
			if _, ok := bp.relations[name]; !ok {
				delete(e.Relations, name)
			}
		}
	}
}

// mergePatch applies patch to target as JSON Merge Patch does.
func mergePatch(target, patch map[string]any) map[string]any {
	for k, v := range patch {
		if v == nil {
			delete(target, k)
			continue
		}
		pm, isObject := v.(map[string]any)
		tm, targetIsObject := target[k].(map[string]any)
		if isObject && targetIsObject {
			target[k] = mergePatch(tm, pm)
			continue
		}
		if isObject {
			target[k] = mergePatch(map[string]any{}, pm)
			continue
		}
		target[k] = v
	}
	return target
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m) // decoded JSON, always encodable
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
