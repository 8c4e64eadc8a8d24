package blueprints

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/port-labs/port-aws-exporter/internal/port"
)

// Client is the part of the Port client blueprints need.
type Client interface {
	GetBlueprint(ctx context.Context, id string) (json.RawMessage, error)
	CreateBlueprint(ctx context.Context, body json.RawMessage) (json.RawMessage, error)
	UpdateBlueprint(ctx context.Context, id string, body json.RawMessage) (json.RawMessage, error)
	ReplaceBlueprint(ctx context.Context, id string, body json.RawMessage) (json.RawMessage, error)
}

// Options change what an apply may do.
type Options struct {
	// Prune removes the properties and relations Port has and the file
	// lacks (a PUT of the blueprint). Without it they stay, and the diff
	// says so.
	Prune bool
}

// Change is what applying the file does to one blueprint.
type Change struct {
	Blueprint string
	// New is true when Port has no such blueprint.
	New bool
	// Added, Changed and Removed name properties ("x") and relations
	// ("relations.x"); Removed only with Options.Prune. Kept names what Port
	// has and the file lacks, left alone without Prune.
	Added, Changed, Removed, Kept []string
	// Fields are other top-level fields that differ (title, icon, ...).
	Fields []string
}

// Unchanged is true when applying changes nothing.
func (c Change) Unchanged() bool {
	return !c.New && len(c.Added)+len(c.Changed)+len(c.Removed)+len(c.Fields) == 0
}

// Step is one request of an apply.
type Step struct {
	Blueprint string
	// Method is "create" (POST), "update" (PATCH) or "replace" (PUT).
	Method string
	Body   map[string]any
	// Why says what the step is for, for people.
	Why string
}

// Plan is what an apply will do: the change per blueprint (in the file's
// order) and the requests in the order Port accepts them.
type Plan struct {
	Changes []Change
	Steps   []Step
}

// metaFields are what Port adds to a blueprint; never compared or sent back.
var metaFields = []string{"createdAt", "updatedAt", "createdBy", "updatedBy"}

// NewPlan reads each blueprint of the file from Port and plans the requests
// that make Port hold them. A relation whose target is neither in the file
// nor in Port is an error before anything is written.
func NewPlan(ctx context.Context, client Client, desired []Blueprint, opts Options) (*Plan, error) {
	current := map[string]map[string]any{}
	inFile := map[string]bool{}
	for _, bp := range desired {
		inFile[bp.Identifier] = true
	}
	for _, bp := range desired {
		body, found, err := get(ctx, client, bp.Identifier)
		if err != nil {
			return nil, err
		}
		if found {
			current[bp.Identifier] = body
		}
	}
	var missing []error
	checked := map[string]bool{}
	for _, bp := range desired {
		for _, name := range sortedKeys(bp.Relations()) {
			target := relationTarget(bp.Relations()[name])
			if inFile[target] || checked[target] {
				continue
			}
			_, found, err := get(ctx, client, target)
			if err != nil {
				return nil, err
			}
			if !found {
				missing = append(missing, fmt.Errorf("[%d].relations.%s: target blueprint %q is neither in the file nor in Port", bp.Index, name, target))
				continue
			}
			checked[target] = true
		}
	}
	if len(missing) > 0 {
		return nil, joinErrors(missing)
	}
	p := &Plan{}
	for _, bp := range desired {
		p.Changes = append(p.Changes, diff(bp, current[bp.Identifier], opts))
	}
	p.Steps = steps(desired, current, opts)
	return p, nil
}

func get(ctx context.Context, client Getter, id string) (map[string]any, bool, error) {
	raw, err := client.GetBlueprint(ctx, id)
	if port.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read blueprint %s from Port: %w", id, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, false, fmt.Errorf("read blueprint %s from Port: %w", id, err)
	}
	return body, true, nil
}

// diff compares a blueprint of the file with Port's (nil: none).
func diff(bp Blueprint, current map[string]any, opts Options) Change {
	c := Change{Blueprint: bp.Identifier}
	if current == nil {
		c.New = true
		c.Added = append(sortedKeys(bp.Properties()), prefixed("relations.", sortedKeys(bp.Relations()))...)
		return c
	}
	compare := func(prefix string, want, have map[string]any) {
		for _, name := range sortedKeys(want) {
			h, ok := have[name]
			switch {
			case !ok:
				c.Added = append(c.Added, prefix+name)
			case !contains(h, want[name]):
				c.Changed = append(c.Changed, prefix+name)
			}
		}
		for _, name := range sortedKeys(have) {
			if _, ok := want[name]; !ok {
				if opts.Prune {
					c.Removed = append(c.Removed, prefix+name)
				} else {
					c.Kept = append(c.Kept, prefix+name)
				}
			}
		}
	}
	compare("", bp.Properties(), properties(current))
	compare("relations.", bp.Relations(), relations(current))
	for _, key := range sortedKeys(bp.Body) {
		switch key {
		case "identifier", "relations":
			continue
		case "schema":
			schema, _ := bp.Body["schema"].(map[string]any)
			have, _ := current["schema"].(map[string]any)
			if !sameSet(schema["required"], have["required"], opts.Prune) {
				c.Fields = append(c.Fields, "schema.required")
			}
			continue
		}
		if slices.Contains(metaFields, key) {
			continue
		}
		if !contains(current[key], bp.Body[key]) {
			c.Fields = append(c.Fields, key)
		}
	}
	return c
}

// contains is true when every key the file gives has Port's value: Port
// fills in defaults (a relation's many: false, ...), which are no change.
func contains(have, want any) bool {
	wm, wantObject := want.(map[string]any)
	hm, haveObject := have.(map[string]any)
	if wantObject && haveObject {
		for k, v := range wm {
			if !contains(hm[k], v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(have, want)
}

// sameSet compares required lists: without prune, the file's names must all
// be there; with prune, the lists must be equal as sets.
func sameSet(want, have any, exact bool) bool {
	w, h := stringList(want), stringList(have)
	for _, name := range w {
		if !slices.Contains(h, name) {
			return false
		}
	}
	if exact {
		for _, name := range h {
			if !slices.Contains(w, name) {
				return false
			}
		}
	}
	return true
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func prefixed(prefix string, names []string) []string {
	for i := range names {
		names[i] = prefix + names[i]
	}
	return names
}

// steps orders the requests: new blueprints first, each after the new
// blueprints its relations target (in a cycle, those relations are left out
// of the create and sent by an update once every blueprint exists); then
// the updates of existing blueprints and the deferred relations.
func steps(desired []Blueprint, current map[string]map[string]any, opts Options) []Step {
	var out, later []Step
	created := map[string]bool{}
	var pending []Blueprint
	for _, bp := range desired {
		if current[bp.Identifier] == nil {
			pending = append(pending, bp)
		}
	}
	isNew := func(id string) bool {
		return slices.ContainsFunc(pending, func(b Blueprint) bool { return b.Identifier == id })
	}
	for len(pending) > 0 {
		progress := false
		for i := 0; i < len(pending); i++ {
			bp := pending[i]
			if !readyToCreate(bp, created, isNew) {
				continue
			}
			out = append(out, Step{Blueprint: bp.Identifier, Method: "create", Body: bp.Body, Why: "new blueprint"})
			created[bp.Identifier] = true
			pending = slices.Delete(pending, i, i+1)
			i--
			progress = true
		}
		if progress {
			continue
		}
		// A cycle: create the first waiting blueprint without the relations
		// to blueprints not created yet, and add them once all exist.
		bp := pending[0]
		pending = pending[1:]
		body := copyMap(bp.Body)
		rels := map[string]any{}
		deferred := map[string]any{}
		for name, rel := range bp.Relations() {
			t := relationTarget(rel)
			if t != bp.Identifier && !created[t] && current[t] == nil { // a new blueprint still to create
				deferred[name] = rel
			} else {
				rels[name] = rel
			}
		}
		body["relations"] = rels
		out = append(out, Step{Blueprint: bp.Identifier, Method: "create", Body: body,
			Why: fmt.Sprintf("new blueprint, without %v (a relation cycle)", prefixed("relations.", sortedKeys(deferred)))})
		// Every relation of the file, not only the deferred ones: the body
		// means the same whether Port merges relations deeply or not.
		later = append(later, Step{Blueprint: bp.Identifier, Method: "update", Body: map[string]any{"relations": bp.Relations()},
			Why: "the relations of the cycle, now that their targets exist"})
		created[bp.Identifier] = true
	}
	for _, bp := range desired {
		have := current[bp.Identifier]
		if have == nil {
			continue
		}
		if diff(bp, have, opts).Unchanged() {
			continue
		}
		if opts.Prune {
			out = append(out, Step{Blueprint: bp.Identifier, Method: "replace", Body: replaceBody(bp, have),
				Why: "changed; properties and relations not in the file are removed (--prune)"})
			continue
		}
		out = append(out, Step{Blueprint: bp.Identifier, Method: "update", Body: updateBody(bp, have), Why: "changed"})
	}
	return append(out, later...)
}

// readyToCreate: every relation target that is new in this apply exists.
func readyToCreate(bp Blueprint, created map[string]bool, isNew func(string) bool) bool {
	for _, rel := range bp.Relations() {
		t := relationTarget(rel)
		if t != bp.Identifier && isNew(t) && !created[t] {
			return false
		}
	}
	return true
}

// updateBody is the PATCH of an existing blueprint: the file's fields, with
// schema.properties, schema.required and relations as the union of Port's
// and the file's (the file's definition wins for a name both have), so the
// body means the same whether Port merges it deeply or field by field.
func updateBody(bp Blueprint, have map[string]any) map[string]any {
	body := map[string]any{}
	for k, v := range bp.Body {
		if k != "identifier" && !slices.Contains(metaFields, k) {
			body[k] = v
		}
	}
	props := copyMap(properties(have))
	for k, v := range bp.Properties() {
		props[k] = v
	}
	schema := copyMap(mapOf(bp.Body["schema"]))
	schema["properties"] = props
	required := stringList(mapOf(have["schema"])["required"])
	for _, name := range stringList(schema["required"]) {
		if !slices.Contains(required, name) {
			required = append(required, name)
		}
	}
	schema["required"] = toAny(required)
	body["schema"] = schema
	rels := copyMap(relations(have))
	for k, v := range bp.Relations() {
		rels[k] = v
	}
	body["relations"] = rels
	return body
}

// replaceBody is the PUT of --prune: Port's blueprint with the file's fields
// over it, and exactly the file's properties, required list and relations.
func replaceBody(bp Blueprint, have map[string]any) map[string]any {
	body := map[string]any{}
	for k, v := range have {
		if !slices.Contains(metaFields, k) {
			body[k] = v
		}
	}
	for k, v := range bp.Body {
		body[k] = v
	}
	schema := copyMap(mapOf(bp.Body["schema"]))
	if _, ok := schema["required"]; !ok {
		schema["required"] = []any{}
	}
	body["schema"] = schema
	if _, ok := body["relations"]; !ok || bp.Body["relations"] == nil {
		body["relations"] = map[string]any{}
	}
	return body
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// StepError is a failed request of an apply: which step, and what was
// already done before it.
type StepError struct {
	Step Step
	Done []Step
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s blueprint %s (%s): %v; %d earlier request(s) were applied", e.Step.Method, e.Step.Blueprint, e.Step.Why, e.Err, len(e.Done))
}

func (e *StepError) Unwrap() error { return e.Err }

// Apply sends the plan's requests in order and stops at the first failure
// (a *StepError naming what was done): a later request may depend on it.
func (p *Plan) Apply(ctx context.Context, client Client) error {
	for i, s := range p.Steps {
		body, err := json.Marshal(s.Body)
		if err != nil {
			return &StepError{Step: s, Done: p.Steps[:i], Err: err}
		}
		switch s.Method {
		case "create":
			_, err = client.CreateBlueprint(ctx, body)
		case "update":
			_, err = client.UpdateBlueprint(ctx, s.Blueprint, body)
		case "replace":
			_, err = client.ReplaceBlueprint(ctx, s.Blueprint, body)
		default:
			err = errors.New("unknown method " + s.Method)
		}
		if err != nil {
			return &StepError{Step: s, Done: p.Steps[:i], Err: err}
		}
	}
	return nil
}
