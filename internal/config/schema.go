package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// schemaJSON is config.json's JSON Schema: the one description of its
// structure (see the package doc for what it checks and what Go checks).
//
//go:embed schema.json
var schemaJSON []byte

const schemaURL = "https://github.com/port-labs/port-aws-exporter/internal/config/schema.json"

// Schema returns the JSON Schema of config.json (draft 2020-12), for
// editors and other tools.
func Schema() []byte { return bytes.Clone(schemaJSON) }

type compiledSchema struct {
	schema *jsonschema.Schema
	raw    *node // the schema document itself, keys in order
	state  map[string]bool
}

var loadSchema = sync.OnceValue(func() *compiledSchema {
	return newCompiledSchema("schema.json", schemaURL, schemaJSON)
})

// oceanSchemaJSON is the JSON Schema of Ocean's port-app-config.yml as this
// exporter reads it: the same machinery (messages, warnings) as schema.json.
//
//go:embed ocean.schema.json
var oceanSchemaJSON []byte

const oceanSchemaURL = "https://github.com/port-labs/port-aws-exporter/internal/config/ocean.schema.json"

// OceanSchema returns the JSON Schema of port-app-config.yml (draft 2020-12).
func OceanSchema() []byte { return bytes.Clone(oceanSchemaJSON) }

var loadOceanSchema = sync.OnceValue(func() *compiledSchema {
	return newCompiledSchema("ocean.schema.json", oceanSchemaURL, oceanSchemaJSON)
})

func newCompiledSchema(name, url string, data []byte) *compiledSchema {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(url, bytes.NewReader(data)); err != nil {
		panic(fmt.Sprintf("config: %s: %v", name, err))
	}
	s, err := c.Compile(url)
	if err != nil {
		panic(fmt.Sprintf("config: %s: %v", name, err))
	}
	raw, err := parseTree(data)
	if err != nil {
		panic(fmt.Sprintf("config: %s: %v", name, err))
	}
	cs := &compiledSchema{schema: s, raw: raw, state: map[string]bool{}}
	for _, k := range raw.get("x-python-state-keys").list() {
		cs.state[k.str] = true
	}
	return cs
}

// schemaOf is the schema of cfg's dialect.
func schemaOf(cfg *Config) *compiledSchema {
	if cfg.schema != nil {
		return cfg.schema
	}
	return loadSchema()
}

// get is the first member key of an object node, nil if none (or n is nil).
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// list is an array node's items, nil if n is nil or not an array.
func (n *node) list() []*node {
	if n == nil || n.kind != kindArray {
		return nil
	}
	return n.items
}

// toAny is the document as the validator reads it. Of a key written twice
// the first value counts, as in the builder (which reports the second).
func toAny(n *node) any {
	switch n.kind {
	case kindBool:
		return n.boolean
	case kindNumber:
		return n.num
	case kindString:
		return n.str
	case kindArray:
		out := make([]any, len(n.items))
		for i, item := range n.items {
			out[i] = toAny(item)
		}
		return out
	case kindObject:
		out := make(map[string]any, len(n.members))
		for _, m := range n.members {
			if _, dup := out[m.key]; !dup {
				out[m.key] = toAny(m.value)
			}
		}
		return out
	}
	return nil
}

// pointer resolves a JSON pointer (from the root, without '#') in the
// schema document.
func (cs *compiledSchema) pointer(ptr string) *node {
	n := cs.raw
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n.kind {
		case kindObject:
			n = n.get(tok)
		case kindArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.items) {
				return nil
			}
			n = n.items[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// deref follows a subschema's local $ref.
func (cs *compiledSchema) deref(s *node) *node {
	for range 8 {
		ref := s.get("$ref")
		if ref == nil || !strings.HasPrefix(ref.str, "#") {
			return s
		}
		s = cs.pointer(ref.str[1:])
	}
	return s
}

// segment is one step of a path: an object key (string) or an array index (int).
type segment = any

func pathString(segs []segment) string {
	path := ""
	for _, s := range segs {
		switch s := s.(type) {
		case int:
			path = Index(path, s)
		case string:
			path = Key(path, s)
		}
	}
	return path
}

// instancePath turns the validator's JSON pointer into segments, reading
// the document to tell an array index from an object key of digits.
func instancePath(root *node, ptr string) ([]segment, *node) {
	var segs []segment
	n := root
	if ptr == "" {
		return nil, n
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		// The validator writes each token ~-escaped, then URL-path-escaped.
		if t, err := url.PathUnescape(tok); err == nil {
			tok = t
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if n != nil && n.kind == kindArray {
			if i, err := strconv.Atoi(tok); err == nil {
				segs = append(segs, i)
				if i >= 0 && i < len(n.items) {
					n = n.items[i]
				} else {
					n = nil
				}
				continue
			}
		}
		segs = append(segs, tok)
		n = n.get(tok)
	}
	return segs, n
}

// schemaProblem is a problem found by the schema, before it is sorted.
type schemaProblem struct {
	Problem
	warning  bool
	priority int
}

// keywordPriority picks, of several keywords failing at one path, the one
// reported: the most basic.
func keywordPriority(keyword string) int {
	if p, ok := map[string]int{"type": 0, "required": 1, "minLength": 2, "pattern": 3}[keyword]; ok {
		return p
	}
	return 4
}

// checkSchema validates the document against the schema and returns its
// problems (at most one per path) and warnings, unsorted.
func checkSchema(root *node) (problems, warnings []Problem) {
	return loadSchema().check(root)
}

// check validates the document against cs; see checkSchema.
func (cs *compiledSchema) check(root *node) (problems, warnings []Problem) {
	err := cs.schema.Validate(toAny(root))
	if err == nil {
		return nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []Problem{{Message: err.Error()}}, nil
	}
	var found []schemaProblem
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			found = append(found, cs.explain(root, e)...)
			return
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(verr)
	var kept []schemaProblem
	at := map[string]int{} // path -> index in kept
	for _, p := range found {
		if p.warning {
			warnings = append(warnings, p.Problem)
			continue
		}
		if i, ok := at[p.Path]; ok {
			if p.priority < kept[i].priority {
				kept[i] = p
			}
			continue
		}
		at[p.Path] = len(kept)
		kept = append(kept, p)
	}
	for _, p := range kept {
		problems = append(problems, p.Problem)
	}
	return problems, warnings
}

// explain turns one failed keyword into problems or warnings, with the
// message the schema gives for it.
func (cs *compiledSchema) explain(root *node, e *jsonschema.ValidationError) []schemaProblem {
	_, frag, _ := strings.Cut(e.AbsoluteKeywordLocation, "#")
	cut := strings.LastIndexByte(frag, '/')
	if cut < 0 {
		return []schemaProblem{{Problem: Problem{Path: "", Message: e.Message}, priority: 4}}
	}
	subPtr, keyword := frag[:cut], frag[cut+1:]
	sub := cs.pointer(subPtr)
	segs, inst := instancePath(root, e.InstanceLocation)
	path := pathString(segs)
	warning := false
	for _, w := range sub.get("x-warnings").list() {
		warning = warning || w.str == keyword
	}
	switch keyword {
	case "additionalProperties":
		// additionalProperties: false is where unknown keys are warned about.
		if ap := sub.get("additionalProperties"); ap != nil && ap.kind == kindBool && !ap.boolean {
			return cs.unknownKeys(segs, sub, inst)
		}
	case "required":
		return cs.missing(segs, sub, inst)
	case "type":
		// A null for a required key reads as the key missing.
		if inst != nil && inst.kind == kindNull && len(segs) > 0 {
			if name, ok := segs[len(segs)-1].(string); ok && strings.HasSuffix(subPtr, "/properties/"+escapePointer(name)) {
				parent := cs.pointer(strings.TrimSuffix(subPtr, "/properties/"+escapePointer(name)))
				if slices.ContainsFunc(parent.get("required").list(), func(r *node) bool { return r.str == name }) {
					return cs.missing(segs[:len(segs)-1], parent, nil)
				}
			}
		}
	}
	msg := e.Message
	if m := sub.get("x-messages").get(keyword); m != nil {
		msg = m.str
	}
	value := ""
	if depth, ok := propertyNamesDepth(e.KeywordLocation); ok {
		// The value checked is a key. The validator locates an empty key
		// at its object: put it back in the path.
		if len(segs) == depth {
			segs = append(segs, "")
			path = pathString(segs)
		}
		value, _ = segs[len(segs)-1].(string)
		inst = nil
	} else if inst != nil && inst.kind == kindString {
		value = inst.str
	}
	msg = fill(msg, segs, value)
	if keyword == "type" && inst != nil {
		msg += ", not " + inst.kind.String()
	}
	return []schemaProblem{{Problem: Problem{Path: path, Message: msg}, warning: warning, priority: keywordPriority(keyword)}}
}

// propertyNamesDepth says whether a keyword location runs through
// propertyNames and, if so, how deep in the document the object whose keys
// it checks is: each properties/NAME, items and additionalProperties step
// goes one level down, $ref none.
func propertyNamesDepth(keywordLocation string) (int, bool) {
	toks := strings.Split(strings.TrimPrefix(keywordLocation, "/"), "/")
	depth := 0
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "propertyNames":
			return depth, true
		case "properties":
			i++ // the property's name
			depth++
		case "items", "additionalProperties":
			depth++
		}
	}
	return 0, false
}

// missing reports the required keys of sub absent from the object inst
// (nil: check every one), each at its own path.
func (cs *compiledSchema) missing(segs []segment, sub, inst *node) []schemaProblem {
	var out []schemaProblem
	for _, r := range sub.get("required").list() {
		if inst != nil {
			if v := inst.get(r.str); v != nil && v.kind != kindNull {
				continue
			}
		}
		p := append(slices.Clone(segs), segment(r.str))
		msg := "missing"
		if m := cs.deref(sub.get("properties").get(r.str)).get("x-messages").get("required"); m != nil {
			msg = fill(m.str, p, "")
		}
		out = append(out, schemaProblem{Problem: Problem{Path: pathString(p), Message: msg}, priority: keywordPriority("required")})
	}
	return out
}

// unknownKeys warns about the keys of inst that sub does not describe.
func (cs *compiledSchema) unknownKeys(segs []segment, sub, inst *node) []schemaProblem {
	if inst == nil {
		return nil
	}
	var out []schemaProblem
	known := sub.get("properties")
	seen := map[string]bool{}
	for _, m := range inst.members {
		if known.get(m.key) != nil || seen[m.key] {
			continue
		}
		seen[m.key] = true
		msg := "unknown key; ignored"
		if hint := unknownKeyHint(m.key, known); hint != "" {
			msg = "unknown key; ignored; " + hint
		}
		if cs.state[m.key] {
			// Port's Python exporter wrote these into its own copy of the
			// config to resume after a Lambda timeout (COMPATIBILITY.md).
			msg = "state key of Port's Python exporter; ignored"
		}
		out = append(out, schemaProblem{Problem: Problem{Path: pathString(append(slices.Clone(segs), segment(m.key))), Message: msg}, warning: true})
	}
	return out
}

// fill replaces a message's placeholders: {key} and {key:q}, the last key
// of the path (plain and quoted), and {value:q}, the value quoted.
func fill(msg string, segs []segment, value string) string {
	key := ""
	if len(segs) > 0 {
		key, _ = segs[len(segs)-1].(string)
	}
	return strings.NewReplacer("{key:q}", strconv.Quote(key), "{key}", key, "{value:q}", strconv.Quote(value)).Replace(msg)
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// schemaOrder returns, for sorting problems, the rank of each step of a
// path: an array index, the place of a key among the properties the schema
// describes at that point, or, for keys the schema does not name (property
// names, regions), the schema's count plus the key's place in the document.
func schemaOrder(root *node, segs []segment) []int {
	return loadSchema().order(root, segs)
}

// order is schemaOrder with cs's schema.
func (cs *compiledSchema) order(root *node, segs []segment) []int {
	s, n := cs.raw, root
	ranks := make([]int, 0, len(segs))
	for _, seg := range segs {
		s = cs.deref(s)
		switch seg := seg.(type) {
		case int:
			ranks = append(ranks, seg)
			s = s.get("items")
			if n != nil && n.kind == kindArray && seg < len(n.items) {
				n = n.items[seg]
			} else {
				n = nil
			}
		case string:
			props := s.get("properties")
			rank := -1
			if props != nil {
				for i, m := range props.members {
					if m.key == seg {
						rank = i
					}
				}
			}
			next := props.get(seg)
			if rank < 0 {
				rank = 1 << 20
				if props != nil {
					rank = len(props.members)
				}
				rank += docRank(n, seg)
				next = s.get("additionalProperties")
			}
			ranks = append(ranks, rank)
			s, n = next, n.get(seg)
		}
		if s == nil {
			s = &node{kind: kindObject}
		}
	}
	return ranks
}

// documentOrder ranks each step of a path by its place in the document;
// steps not in the document come after those that are.
func documentOrder(root *node, segs []segment) []int {
	n := root
	ranks := make([]int, 0, len(segs))
	for _, seg := range segs {
		switch seg := seg.(type) {
		case int:
			ranks = append(ranks, seg)
			if n != nil && n.kind == kindArray && seg < len(n.items) {
				n = n.items[seg]
			} else {
				n = nil
			}
		case string:
			ranks = append(ranks, docRank(n, seg))
			n = n.get(seg)
		}
	}
	return ranks
}

// docRank is the place of key among n's members (the last of a key written
// twice: that is where the duplicate is reported), or after them all.
func docRank(n *node, key string) int {
	rank := 1 << 20
	if n != nil {
		for i, m := range n.members {
			if m.key == key {
				rank = i
			}
		}
	}
	return rank
}

// sortProblems orders problems by path with rank, keeping the order of
// problems at one path (a parent's before its children's).
func sortProblems(root *node, problems []Problem, rank func(*node, []segment) []int) {
	keys := make(map[string][]int, len(problems))
	for _, p := range problems {
		if _, ok := keys[p.Path]; !ok {
			keys[p.Path] = rank(root, parsePath(p.Path))
		}
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return slices.Compare(keys[a.Path], keys[b.Path]) })
}

// parsePath reads back a path written by Key and Index.
func parsePath(path string) []segment {
	var segs []segment
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			if q, err := strconv.QuotedPrefix(path[1:]); err == nil {
				key, _ := strconv.Unquote(q)
				segs = append(segs, key)
				path = strings.TrimPrefix(path[1+len(q):], "]")
				continue
			}
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(segs, path)
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil {
				segs = append(segs, path[1:end])
			} else {
				segs = append(segs, i)
			}
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

// schemaOfConfig is the document a Config built in Go stands for, for
// validating it with the schema as if it had been read.
func schemaOfConfig(cfg *Config) *node {
	data, err := json.Marshal(cfg)
	if err != nil {
		return &node{kind: kindNull}
	}
	n, err := parseTree(data)
	if err != nil {
		return &node{kind: kindNull}
	}
	return n
}
