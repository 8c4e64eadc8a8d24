// Package blueprints puts the blueprints a config needs into Port and checks
// that they are there.
//
// Apply (blueprints apply, init --apply) reads blueprints.json, compares each
// blueprint with what Port holds, and creates or updates them in an order
// Port accepts: a relation's target before the blueprint that relates to it;
// blueprints related in a cycle are created without those relations and then
// updated with them. An update only adds and changes: a property or relation
// Port has and the file lacks stays, unless the caller asks to prune.
//
// Check (the preflight of sync, serve and Lambda) reads, before any AWS call,
// every blueprint a config maps to by name, and reports each mapped property
// and relation the blueprint lacks, with the config path and the fix.
package blueprints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Blueprint is one blueprint of a file: its identifier and its body as
// written (sent to Port as it is, apart from what an update merges).
type Blueprint struct {
	Identifier string
	Body       map[string]any
	// Index is the blueprint's position in the file.
	Index int
}

// Properties are the names of the blueprint's schema.properties.
func (b Blueprint) Properties() map[string]any { return properties(b.Body) }

// Relations are the blueprint's relations by name.
func (b Blueprint) Relations() map[string]any { return relations(b.Body) }

func properties(body map[string]any) map[string]any {
	schema, _ := body["schema"].(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	return props
}

func relations(body map[string]any) map[string]any {
	rels, _ := body["relations"].(map[string]any)
	return rels
}

// relationTarget is the target blueprint of a relation definition.
func relationTarget(rel any) string {
	m, _ := rel.(map[string]any)
	t, _ := m["target"].(string)
	return t
}

// FileError is a problem of a blueprints file, at a JSON path.
type FileError struct {
	Source string
	Path   string
	Msg    string
}

func (e *FileError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Source, e.Path, e.Msg)
}

// maxFileBytes bounds a blueprints file: Port takes at most 1 MiB per
// blueprint, and no catalog has hundreds of them.
const maxFileBytes = 32 << 20

// Read parses a blueprints file from r; source names it in errors.
func Read(r io.Reader, source string) ([]Blueprint, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if len(data) > maxFileBytes {
		return nil, &FileError{Source: source, Msg: fmt.Sprintf("larger than %d MiB", maxFileBytes>>20)}
	}
	return Parse(data, source)
}

// Parse reads blueprints.json: an array of blueprint objects (what init
// writes), or a single blueprint object. Every problem found is reported
// at once, each with its JSON path.
func Parse(data []byte, source string) ([]Blueprint, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &FileError{Source: source, Msg: "not JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &FileError{Source: source, Msg: "more than one JSON value"}
	}
	var items []any
	prefix := func(i int) string { return fmt.Sprintf("[%d]", i) }
	switch d := doc.(type) {
	case []any:
		items = d
	case map[string]any:
		items = []any{d}
		prefix = func(int) string { return "" }
	default:
		return nil, &FileError{Source: source, Msg: "want an array of blueprints (or one blueprint object)"}
	}
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, &FileError{Source: source, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	join := func(p, key string) string {
		if p == "" {
			return key
		}
		return p + "." + key
	}
	seen := map[string]int{}
	out := make([]Blueprint, 0, len(items))
	for i, item := range items {
		p := prefix(i)
		body, ok := normalize(item).(map[string]any)
		if !ok {
			fail(p, "a blueprint must be a JSON object")
			continue
		}
		id, _ := body["identifier"].(string)
		if err := entity.ValidateBlueprint(id); err != nil {
			fail(join(p, "identifier"), "%v", err)
			continue
		}
		if j, dup := seen[id]; dup {
			fail(join(p, "identifier"), "blueprint %q is also at [%d]", id, j)
			continue
		}
		seen[id] = i
		if title, _ := body["title"].(string); title == "" {
			fail(join(p, "title"), "a title is required (Port refuses a blueprint without one)")
		}
		schema, isObject := body["schema"].(map[string]any)
		if !isObject {
			fail(join(p, "schema"), "want an object with properties")
		} else if _, ok := schema["properties"].(map[string]any); !ok {
			fail(join(p, "schema.properties"), "want an object")
		}
		if rels, has := body["relations"]; has && rels != nil {
			m, ok := rels.(map[string]any)
			if !ok {
				fail(join(p, "relations"), "want an object")
			}
			for _, name := range sortedKeys(m) {
				if relationTarget(m[name]) == "" {
					fail(join(p, "relations."+name+".target"), "a relation needs a target blueprint")
				}
			}
		}
		out = append(out, Blueprint{Identifier: id, Body: body, Index: i})
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if len(out) == 0 {
		return nil, &FileError{Source: source, Msg: "no blueprints"}
	}
	return out, nil
}

// normalize turns json.Number into float64 (Port's JSON numbers) in a
// decoded document, so that comparisons with Port's answers hold.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
		return v
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// multiError lists several errors one per line.
type multiError []error

func (m multiError) Error() string {
	var b bytes.Buffer
	for i, e := range m {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (m multiError) Unwrap() []error { return slices.Clone(m) }

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return multiError(errs)
}
