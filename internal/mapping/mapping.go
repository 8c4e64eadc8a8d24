// Package mapping turns AWS resources into Port entities the way Port's AWS
// exporter did: the selector query decides whether a resource is exported,
// and each mapping of its config entry (once per item of itemsToParse, when
// set) yields one entity. Every expression is compiled once, by
// config.Compile, so the mapper accepts exactly the configs Validate accepts.
// internal/config/COMPATIBILITY.md records each rule and where it comes from.
package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/identity"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Mapper holds a compiled config.
type Mapper struct {
	cfg       *config.Config
	resources []*Resource
	byKind    map[string][]*Resource
	kinds     []string
	nulls     *nullLog
}

// Resource is one compiled entry of the config's resources[].
type Resource struct {
	// Index is the entry's position in resources[].
	Index int
	// Kind is the Cloud Control type name.
	Kind string
	// TrustListProperties: map ListResources' properties, skip GetResource.
	TrustListProperties bool

	compiled *config.CompiledResource
	// ocean: Ocean's document and jq rules (ocean.go); docKind is the kind
	// the document names (__Kind), items the Ocean item rule per mapping.
	ocean   bool
	docKind string
	items   []*oceanItems
	nulls   *nullLog
	// batches evaluate each mapping's expressions together (batch.go),
	// parallel to compiled.Mappings.
	batches []*mappingBatch
	// perField evaluates every expression alone, as before batches: the
	// reference the equivalence tests compare the batches with.
	perField bool
}

// Result is what one AWS resource maps to.
type Result struct {
	// Selected is false when the selector query rejected the resource.
	Selected bool
	// Entities are the entities the mappings produced, in mapping order
	// (and item order within a mapping).
	Entities []entity.Entity
}

// Compile compiles every expression of cfg. On failure the error is a
// *config.ValidationError with the same problems config.Validate reports.
func Compile(cfg *config.Config, opts ...jq.Option) (*Mapper, error) {
	compiled, err := config.Compile(cfg, opts...)
	if err != nil {
		return nil, err
	}
	m := &Mapper{cfg: cfg, byKind: map[string][]*Resource{}, nulls: &nullLog{seen: map[string]bool{}}}
	for i := range compiled.Resources {
		cr := &compiled.Resources[i]
		r := &Resource{
			Index:               cr.Index,
			Kind:                cr.Resource.Kind,
			TrustListProperties: cr.Resource.Selector.AWS.TrustListProperties,
			compiled:            cr,
			ocean:               cr.Resource.Selector.AWS.Document == config.DocumentOcean,
			docKind:             cr.Resource.DocumentKind,
			nulls:               m.nulls,
		}
		if r.docKind == "" {
			r.docKind = r.Kind
		}
		for j := range cr.Resource.Port.Entity.Mappings {
			var it *oceanItems
			if r.ocean {
				it = compileOceanItems(&cr.Resource.Port.Entity.Mappings[j])
			}
			r.items = append(r.items, it)
			r.batches = append(r.batches, newMappingBatch(&cr.Mappings[j]))
		}
		m.resources = append(m.resources, r)
		if _, seen := m.byKind[r.Kind]; !seen {
			m.kinds = append(m.kinds, r.Kind)
		}
		m.byKind[r.Kind] = append(m.byKind[r.Kind], r)
	}
	return m, nil
}

// Config returns the config the mapper was compiled from.
func (m *Mapper) Config() *config.Config { return m.cfg }

// Kinds returns each kind the config names, once, in config order.
func (m *Mapper) Kinds() []string { return slices.Clone(m.kinds) }

// ForKind returns every config entry of kind, in config order. An event for
// a kind goes through all of them, as in Port's exporter.
func (m *Mapper) ForKind(kind string) []*Resource { return slices.Clone(m.byKind[kind]) }

// Resources returns every config entry, in config order.
func (m *Mapper) Resources() []*Resource { return slices.Clone(m.resources) }

// Path returns the entry's JSON path, resources[Index].
func (r *Resource) Path() string { return r.compiled.Path }

// Regions returns the regions to read the kind from: the configured ones, or
// defaultRegion when none are (Port's exporter used the Lambda's region).
// An entry with Ocean's regionPolicy reads the regions the policy allows
// (config.RegionPolicy.Candidates, until the account's enabled regions are
// discovered), and a kind Ocean reads once per account (S3, IAM, the account
// kinds: config.IsOceanGlobal) only the first of them, standard regions first.
func (r *Resource) Regions(defaultRegion string) []string {
	sel := r.compiled.Resource.Selector.AWS
	if sel.RegionPolicy != nil {
		regions := sel.RegionPolicy.Candidates(defaultRegion)
		if config.IsOceanGlobal(r.docKind) && len(regions) > 1 {
			regions = config.GlobalFirst(regions)[:1]
		}
		return regions
	}
	if regions := sel.Regions; len(regions) > 0 {
		return slices.Clone(regions)
	}
	return []string{defaultRegion}
}

// RegionPolicy is the entry's Ocean regionPolicy, or nil.
func (r *Resource) RegionPolicy() *config.RegionPolicy {
	return r.compiled.Resource.Selector.AWS.RegionPolicy
}

// ResourceModels returns the ResourceModel documents to list the kind with
// in region, or nil when the kind is listed without one.
func (r *Resource) ResourceModels(region string) []string {
	rc, ok := r.compiled.Resource.Selector.AWS.RegionsConfig[region]
	if !ok || len(rc.ResourcesModels) == 0 {
		return nil
	}
	return slices.Clone(rc.ResourcesModels)
}

// staticBlueprintTimeout bounds evaluating a blueprint expression against
// null; a blueprint that needs longer is not static in any useful sense.
const staticBlueprintTimeout = 100 * time.Millisecond

// StaticBlueprints returns the blueprints of the entry's mappings, each once,
// when every one of them is known without a resource: a name, or a jq
// expression that yields a string from null without error. Deleting by event
// needs this, since the resource is gone. ok is false otherwise.
func (r *Resource) StaticBlueprints() (blueprints []string, ok bool) {
	for _, cm := range r.compiled.Mappings {
		name := cm.Blueprint.Name
		if cm.Blueprint.Query != nil {
			ctx, cancel := context.WithTimeout(context.Background(), staticBlueprintTimeout)
			v, found, err := cm.Blueprint.Query.First(ctx, nil)
			cancel()
			s, isString := v.(string)
			if err != nil || !found || !isString || entity.ValidateBlueprint(s) != nil {
				return blueprints, false
			}
			name = s
		}
		if !slices.Contains(blueprints, name) {
			blueprints = append(blueprints, name)
		}
	}
	return blueprints, true
}

// Error is a failure to map one resource with one mapping.
type Error struct {
	Path     string // the config path of what failed, e.g. ...mappings[0].identifier
	Resource source.Resource
	Item     int // index in itemsToParse, or -1
	Err      error
}

func (e *Error) Error() string {
	where := fmt.Sprintf("resource %q (%s, %s)", e.Resource.Identifier, e.Resource.Kind, e.Resource.Region)
	if e.Item >= 0 {
		where += fmt.Sprintf(", item %d", e.Item)
	}
	return fmt.Sprintf("%s: %s: %v", e.Path, where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Map maps one resource. When some mappings fail, Entities holds those that
// did not, and the error (errors.Join of *Error) names each failure; the
// caller decides whether to upsert the rest, and must not treat the
// resource's shard as cleanly synced.
func (r *Resource) Map(ctx context.Context, res source.Resource) (Result, error) {
	// One deadline for the whole call: a timer per expression cost as
	// much as evaluating it.
	var dl jq.Deadline
	defer dl.Stop()
	input := r.Document(res)
	if r.ocean {
		return r.mapOcean(ctx, &dl, res, input)
	}
	if q := r.compiled.Selector; q != nil {
		v, found, err := q.FirstWithin(ctx, &dl, input)
		if err != nil {
			return Result{}, &Error{Path: r.compiled.Path + ".selector.query", Resource: res, Item: -1, Err: err}
		}
		if !found || !truthy(v) {
			return Result{}, nil
		}
	}
	result := Result{Selected: true}
	var errs []error
	for i := range r.compiled.Mappings {
		cm := &r.compiled.Mappings[i]
		if cm.ItemsToParse == nil {
			e, err := r.mapBatched(ctx, &dl, i, input, res)
			if err != nil {
				errs = append(errs, wrap(err, res, -1))
				continue
			}
			result.Entities = append(result.Entities, e)
			continue
		}
		inputs, err := withItems(ctx, &dl, cm, input)
		if err != nil {
			errs = append(errs, &Error{Path: cm.Path + ".itemsToParse", Resource: res, Item: -1, Err: err})
			continue
		}
		for j, withItem := range inputs {
			e, err := r.mapBatched(ctx, &dl, i, withItem, res)
			if err != nil {
				errs = append(errs, wrap(err, res, j))
				continue
			}
			result.Entities = append(result.Entities, e)
		}
	}
	return result, errors.Join(errs...)
}

// withItems are the inputs of a mapping with itemsToParse, as Port's
// exporter built them: each item visible as .item next to the document's
// own keys (a key named "item" is shadowed); a non-array gives none.
func withItems(ctx context.Context, dl *jq.Deadline, cm *config.CompiledMapping, input map[string]any) ([]any, error) {
	items, _, err := cm.ItemsToParse.FirstWithin(ctx, dl, input)
	if err != nil {
		return nil, err
	}
	list, _ := items.([]any) // Port's exporter ignored a non-array
	out := make([]any, 0, len(list))
	for _, item := range list {
		withItem := make(map[string]any, len(input)+1)
		for k, v := range input {
			withItem[k] = v
		}
		withItem["item"] = item
		out = append(out, withItem)
	}
	return out, nil
}

// fieldError is a failure at a config path, before the resource is known.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }

func wrap(err error, res source.Resource, item int) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &Error{Path: fe.path, Resource: res, Item: item, Err: fe.err}
	}
	return &Error{Resource: res, Item: item, Err: err}
}

// mapOcean maps one resource under Ocean's rules (ocean.go).
func (r *Resource) mapOcean(ctx context.Context, dl *jq.Deadline, res source.Resource, doc map[string]any) (Result, error) {
	var result Result
	var errs []error
	evaluated, rejected := 0, 0
	for i := range r.compiled.Mappings {
		cm := &r.compiled.Mappings[i]
		inputs := []any{doc}
		perItem := true // the selector sees each input
		switch {
		case r.items[i] != nil:
			inputs = r.oceanInputs(ctx, dl, cm, r.items[i], doc, res)
		case cm.ItemsToParse != nil:
			// config.json's items with Ocean's document: the selector sees
			// the resource once, each item is .item.
			evaluated++
			ok, err := r.selectOcean(ctx, dl, doc, res, -1)
			if err != nil || !ok {
				if err != nil {
					errs = append(errs, err)
				} else {
					rejected++
				}
				continue
			}
			perItem = false
			if inputs, err = withItems(ctx, dl, cm, doc); err != nil {
				errs = append(errs, &Error{Path: cm.Path + ".itemsToParse", Resource: res, Item: -1, Err: err})
				continue
			}
		}
		for j, in := range inputs {
			item := -1
			if cm.ItemsToParse != nil {
				item = j
			}
			if perItem {
				evaluated++
				ok, err := r.selectOcean(ctx, dl, in, res, item)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if !ok {
					rejected++
					continue
				}
			}
			e, err := r.mapBatched(ctx, dl, i, in, res)
			if err != nil {
				errs = append(errs, wrap(err, res, item))
				continue
			}
			result.Entities = append(result.Entities, e)
		}
	}
	// Selected unless every evaluation of the selector said false.
	result.Selected = evaluated == 0 || rejected < evaluated
	if !result.Selected {
		result.Entities = nil
	}
	return result, errors.Join(errs...)
}

// lenient evaluates an optional field under Ocean's rules: a failure is
// logged once and the field sent as null (found false).
// checkValue also refuses values JSON cannot carry (properties and
// relations; a title says so itself when it is stringified).
func (r *Resource) lenient(ctx context.Context, fv *fieldValues, q *jq.Query, path string, input any, res source.Resource, checkValue bool) (any, bool, error) {
	if q == nil {
		return nil, false, nil // did not compile: null, warned about when the config was read
	}
	v, found, err := fv.first(ctx, q, input)
	if err == nil && checkValue {
		err = checkJSON(v)
	}
	if err != nil {
		if !r.ocean {
			return nil, false, err
		}
		r.logNull(path, res, err, "sent as null")
		return nil, false, nil
	}
	return v, found, nil
}

func (r *Resource) mapOne(ctx context.Context, fv *fieldValues, cm *config.CompiledMapping, input any, res source.Resource) (entity.Entity, error) {
	var e entity.Entity
	var err error

	if e.Blueprint, err = blueprint(ctx, fv, cm, input); err != nil {
		return e, err
	}

	id, found, err := fv.first(ctx, cm.Identifier, input)
	if err != nil {
		return e, &fieldError{cm.Path + ".identifier", err}
	}
	if !found || !truthy(id) {
		return e, &fieldError{cm.Path + ".identifier", fmt.Errorf("identifier is empty (the expression gave %s)", describe(id, found))}
	}
	s, ok := id.(string)
	if !ok {
		return e, &fieldError{cm.Path + ".identifier", fmt.Errorf("identifier must be a string, the expression gave %s (add | tostring)", describe(id, true))}
	}
	if err := entity.ValidateIdentifier(s); err != nil {
		return e, &fieldError{cm.Path + ".identifier", err}
	}
	e.Identifier = s

	// A field's value error (a number where a string is needed) is an
	// error of the resource, or under Ocean's rules a null.
	bad := func(path string, err error) error {
		if r.ocean {
			r.logNull(path, res, err, "sent as null")
			return nil
		}
		return &fieldError{path, err}
	}
	if cm.Title != nil {
		v, found, err := r.lenient(ctx, fv, cm.Title, cm.Path+".title", input, res, false)
		if err != nil {
			return e, &fieldError{cm.Path + ".title", err}
		}
		if found && v != nil {
			title, err := stringify(v)
			if err != nil {
				if err := bad(cm.Path+".title", err); err != nil {
					return e, err
				}
			}
			e.Title = title
		}
	}
	if cm.Icon != nil {
		v, found, err := r.lenient(ctx, fv, cm.Icon, cm.Path+".icon", input, res, false)
		if err != nil {
			return e, &fieldError{cm.Path + ".icon", err}
		}
		if found && v != nil {
			s, ok := v.(string)
			if !ok {
				if err := bad(cm.Path+".icon", fmt.Errorf("icon must be a string, the expression gave %s", describe(v, true))); err != nil {
					return e, err
				}
			}
			e.Icon = s
		}
	}
	if cm.Team != nil {
		v, found, err := r.lenient(ctx, fv, cm.Team, cm.Path+".team", input, res, false)
		if err != nil {
			return e, &fieldError{cm.Path + ".team", err}
		}
		if found && v != nil {
			t, err := team(v)
			if err != nil {
				if err := bad(cm.Path+".team", err); err != nil {
					return e, err
				}
			}
			e.Team = t
		}
	}
	if e.Properties, err = r.fields(ctx, fv, cm.Properties, input, res); err != nil {
		return e, err
	}
	if len(cm.Relations) > 0 { // Port's exporter left relations out when none were mapped
		if e.Relations, err = r.fields(ctx, fv, cm.Relations, input, res); err != nil {
			return e, err
		}
	}
	return e, nil
}

func blueprint(ctx context.Context, fv *fieldValues, cm *config.CompiledMapping, input any) (string, error) {
	if cm.Blueprint.Query == nil {
		return cm.Blueprint.Name, nil
	}
	v, found, err := fv.first(ctx, cm.Blueprint.Query, input)
	if err != nil {
		return "", &fieldError{cm.Path + ".blueprint", err}
	}
	s, ok := v.(string)
	if !found || !ok {
		return "", &fieldError{cm.Path + ".blueprint", fmt.Errorf("blueprint must be a string, the expression gave %s", describe(v, found))}
	}
	if err := entity.ValidateBlueprint(s); err != nil {
		return "", &fieldError{cm.Path + ".blueprint", err}
	}
	return s, nil
}

// fields evaluates properties or relations. A null result is kept and sent
// as null, as Port's exporter did (with merge=true that clears the value in
// Port); an expression with no output counts as null.
func (r *Resource) fields(ctx context.Context, fv *fieldValues, fs []config.CompiledField, input any, res source.Resource) (map[string]any, error) {
	out := make(map[string]any, len(fs))
	for _, f := range fs {
		v, _, err := r.lenient(ctx, fv, f.Query, f.Path, input, res, true)
		if err != nil {
			return nil, &fieldError{f.Path, err}
		}
		out[f.Name] = v
	}
	return out, nil
}

// truthy follows Port's exporter, which tested results with Python's
// truthiness: null, false, 0, "", [] and {} are all false. (jq itself
// counts only null and false as false.)
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case int:
		return v != 0
	case float64:
		return v != 0
	case json.Number:
		f, err := v.Float64()
		return err != nil || f != 0
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true // *big.Int only holds integers too large to be zero
}

// stringify renders a title: strings as they are, anything else as its
// compact JSON text, which for numbers and booleans is what jq's tostring
// gives (0.1 stays "0.1", 1e20 is written out in full).
func stringify(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot be a title: %w", err)
	}
	return string(data), nil
}

// team accepts what Port accepts: a team name or a list of them.
func team(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []any:
		names := make([]string, 0, len(v))
		for i, t := range v {
			s, ok := t.(string)
			if !ok {
				return nil, fmt.Errorf("team must be a string or a list of strings; element %d is %s", i, describe(t, true))
			}
			names = append(names, s)
		}
		return names, nil
	}
	return nil, fmt.Errorf("team must be a string or a list of strings, the expression gave %s", describe(v, true))
}

// checkJSON rejects values JSON cannot carry (jq's nan and infinite), so
// the failure names the property rather than surfacing at send time.
func checkJSON(v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v is not a JSON number", v)
		}
	case []any:
		for _, e := range v {
			if err := checkJSON(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range v {
			if err := checkJSON(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// describe names a jq result for an error message, shortened.
func describe(v any, found bool) string {
	if !found {
		return "no output"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	kind := "a value"
	switch v.(type) {
	case nil:
		return "null"
	case string:
		kind = "a string"
	case bool:
		kind = "a boolean"
	case []any:
		kind = "an array"
	case map[string]any:
		kind = "an object"
	default:
		kind = "a number"
	}
	s := string(data)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return kind + " " + s
}

// MappingIdentity is what a deletion proof needs to know about one mapping
// of an entry: the blueprint it writes to ("" when computed per resource),
// its identifier expression as written, and whether it maps items.
type MappingIdentity struct {
	Blueprint  string
	Identifier string
	Items      bool
}

// Identities describes the entry's mappings, in order. Under Ocean's
// document the identifier is given as it reads Cloud Control's properties
// (oceanIdentifier), which is what a deletion proof reasons about.
func (r *Resource) Identities() []MappingIdentity {
	out := make([]MappingIdentity, len(r.compiled.Mappings))
	for i, cm := range r.compiled.Mappings {
		out[i] = MappingIdentity{Blueprint: cm.Blueprint.Name, Items: cm.ItemsToParse != nil}
		if i < len(r.compiled.Resource.Port.Entity.Mappings) {
			out[i].Identifier = r.oceanIdentifier(r.compiled.Resource.Port.Entity.Mappings[i].Identifier)
		}
	}
	return out
}

// oceanProperty is .Properties.<key> of Ocean's document.
var oceanProperty = regexp.MustCompile(`^\.Properties(\.[A-Za-z_][A-Za-z0-9_]*)$`)

// oceanIdentifier restates an identifier of Ocean's wrapped document over
// the Cloud Control properties: .Properties.Arn reads .Arn, and .Identifier
// (the Cloud Control identifier) reads the type's one primary identifier
// property, when there is one. Anything else is left as written, which no
// proof takes for a property path.
func (r *Resource) oceanIdentifier(expr string) string {
	if !r.ocean || config.OceanLayout(r.docKind) != config.LayoutWrapped {
		return expr
	}
	e := strings.TrimSpace(expr)
	if m := oceanProperty.FindStringSubmatch(e); m != nil {
		return m[1]
	}
	if e == ".Identifier" {
		if p := identity.PrimaryIdentifier(r.Kind); p != "" {
			return "." + p
		}
	}
	return expr
}

// Identify returns the entities the entry would produce from res if its
// selector accepted it: the identifiers and blueprints only. When the selector
// now rejects a resource, these are the entities it used to produce, read
// from AWS's document rather than from a message.
func (r *Resource) Identify(ctx context.Context, res source.Resource) ([]entity.Ref, error) {
	var dl jq.Deadline
	defer dl.Stop()
	input := r.Document(res)
	var refs []entity.Ref
	var errs []error
	for i := range r.compiled.Mappings {
		cm := &r.compiled.Mappings[i]
		inputs := []any{input}
		if it := r.items[i]; it != nil {
			inputs = r.oceanInputs(ctx, &dl, cm, it, input, res)
		} else if cm.ItemsToParse != nil {
			var err error
			if inputs, err = withItems(ctx, &dl, cm, input); err != nil {
				errs = append(errs, &Error{Path: cm.Path + ".itemsToParse", Resource: res, Item: -1, Err: err})
				continue
			}
		}
		for j, in := range inputs {
			item := -1
			if cm.ItemsToParse != nil {
				item = j
			}
			bp, err := blueprint(ctx, nil, cm, in)
			if err != nil {
				errs = append(errs, wrap(err, res, item))
				continue
			}
			v, found, err := cm.Identifier.First(ctx, in)
			if err != nil {
				errs = append(errs, &Error{Path: cm.Path + ".identifier", Resource: res, Item: item, Err: err})
				continue
			}
			id, err := stringify(v)
			if err != nil || !found || id == "" {
				continue // such a mapping produces no entity either
			}
			refs = append(refs, entity.Ref{Blueprint: bp, Identifier: id})
		}
	}
	return refs, errors.Join(errs...)
}
