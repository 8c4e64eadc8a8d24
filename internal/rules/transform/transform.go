package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits EventBridge enforces on an InputTransformer.
const (
	MaxInputPaths     = 100
	MaxTemplateLength = 8192
)

// Predefined placeholders EventBridge provides without an InputPathsMap entry.
const (
	RuleARN       = "aws.events.rule-arn"
	RuleName      = "aws.events.rule-name"
	IngestionTime = "aws.events.event.ingestion-time"
	Event         = "aws.events.event"
	EventJSON     = "aws.events.event.json"
)

var predefined = map[string]bool{RuleARN: true, RuleName: true, IngestionTime: true, Event: true, EventJSON: true}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// placeholderRE is what a placeholder looks like in a template: names may
// hold dots only for the predefined aws.events.* ones.
var placeholderRE = regexp.MustCompile(`^<([A-Za-z0-9_.-]+)>`)

// Transformer is a compiled InputTransformer; it is safe for concurrent use.
type Transformer struct {
	paths    map[string]path
	rawPaths map[string]string
	tmpl     string
	segments []segment
	isJSON   bool
	// keys are the top-level keys of a JSON object template, in order
	// (nil when the template is not a JSON object).
	keys []string
}

type segment struct {
	literal string
	name    string // placeholder name; empty for a literal
	quoted  bool   // the placeholder sits inside a JSON string
	offset  int    // byte offset of the placeholder in the template
}

// Use is one occurrence of a placeholder in the template.
type Use struct {
	Name string
	// Path is the InputPathsMap path; empty for predefined placeholders.
	Path string
	// Quoted is true when the placeholder sits inside a JSON string, where
	// EventBridge inserts a string value unescaped.
	Quoted bool
	// Line and Column are 1-based, in the template; Offset is the byte
	// offset of the '<'.
	Line, Column, Offset int
	// WholeString is true for a quoted placeholder that is the whole JSON
	// string ("key": "<name>"), so that the unquoted form ("key": <name>)
	// replaces the string by the value.
	WholeString bool
}

type step struct {
	key     string
	index   int
	isIndex bool
}

type path []step

// Meta is what EventBridge knows besides the event: the rule that matched
// and when the event was ingested.
type Meta struct {
	RuleName      string
	RuleARN       string
	IngestionTime time.Time // zero means now
}

// Rendered is the output of a transformer for one event.
type Rendered struct {
	// Output is the message sent to the target.
	Output []byte
	// Missing lists placeholders whose path matched nothing or null.
	Missing []string
	// Unescaped lists placeholders whose string value held '"', '\' or a
	// control character and was inserted raw inside quotes, as EventBridge
	// does: the message may not say what the event said.
	Unescaped []string
	// Values holds the compact JSON text of each placeholder's value, for
	// placeholders whose path found a non-null value.
	Values map[string]json.RawMessage
}

// CompileError is an InputTransformer EventBridge would refuse. Where names
// the place: "InputPathsMap.name" or "InputTemplate line 3, column 7".
type CompileError struct {
	Where string
	Msg   string
}

func (e *CompileError) Error() string { return e.Where + ": " + e.Msg }

// OutputError is a rendered JSON template that is not valid JSON.
type OutputError struct {
	Rule         string
	Line, Column int // 1-based position in Output
	Offset       int // byte offset in Output
	Output       []byte
	Cause        error
	// Suspects are the placeholders whose values were inserted raw while
	// holding characters that break JSON strings.
	Suspects []string
}

func (e *OutputError) Error() string {
	msg := fmt.Sprintf("rule %s: input template produced invalid JSON at line %d, column %d: %v", ruleLabel(e.Rule), e.Line, e.Column, e.Cause)
	if len(e.Suspects) > 0 {
		msg += fmt.Sprintf(" (EventBridge inserts the values of %s unescaped inside quotes, and they hold '\"' or '\\')", placeholderList(e.Suspects))
	}
	return msg
}

func (e *OutputError) Unwrap() error { return e.Cause }

func placeholderList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "<" + n + ">"
	}
	return strings.Join(quoted, ", ")
}

// Compile validates an InputTransformer and compiles it.
func Compile(inputPathsMap map[string]string, inputTemplate string) (*Transformer, error) {
	if len(inputPathsMap) > MaxInputPaths {
		return nil, &CompileError{Where: "InputPathsMap", Msg: fmt.Sprintf("%d entries, at most %d are allowed", len(inputPathsMap), MaxInputPaths)}
	}
	t := &Transformer{paths: make(map[string]path, len(inputPathsMap)), rawPaths: make(map[string]string, len(inputPathsMap))}
	names := make([]string, 0, len(inputPathsMap))
	for name := range inputPathsMap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		where := "InputPathsMap." + name
		switch {
		case strings.HasPrefix(name, "AWS."):
			return nil, &CompileError{Where: where, Msg: "names must not start with \"AWS.\""}
		case !nameRE.MatchString(name):
			return nil, &CompileError{Where: where, Msg: "names may only hold letters, digits, '_' and '-'"}
		}
		p, err := parsePath(inputPathsMap[name])
		if err != nil {
			return nil, &CompileError{Where: where, Msg: err.Error()}
		}
		t.paths[name] = p
		t.rawPaths[name] = inputPathsMap[name]
	}
	if inputTemplate == "" {
		return nil, &CompileError{Where: "InputTemplate", Msg: "must not be empty"}
	}
	if n := utf8.RuneCountInString(inputTemplate); n > MaxTemplateLength {
		return nil, &CompileError{Where: "InputTemplate", Msg: fmt.Sprintf("%d characters, at most %d are allowed", n, MaxTemplateLength)}
	}
	t.tmpl = inputTemplate
	if err := t.parseTemplate(inputTemplate); err != nil {
		return nil, err
	}
	return t, nil
}

// Placeholders returns the names of the InputPathsMap entries.
func (t *Transformer) Placeholders() []string {
	names := make([]string, 0, len(t.paths))
	for n := range t.paths {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parsePath reads "$", "$.a.b", "$.a[0].b", "$.detail-type".
func parsePath(s string) (path, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with \"$\"", s)
	}
	var p path
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[]")
			if end < 0 {
				end = len(rest) - 1
			}
			key := rest[1 : 1+end]
			if key == "" {
				return nil, fmt.Errorf("path %q has an empty segment", s)
			}
			if strings.ContainsAny(key, " \t\r\n\"'") {
				return nil, fmt.Errorf("path %q: segment %q holds whitespace or quotes; use dot notation", s, key)
			}
			p = append(p, step{key: key})
			rest = rest[1+end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q has an unclosed '['", s)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 || rest[1] == '+' {
				return nil, fmt.Errorf("path %q: %q is not an array index; use dot notation for names", s, rest[:end+1])
			}
			p = append(p, step{index: n, isIndex: true})
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("path %q: expected '.' or '[' at %q", s, rest)
		}
	}
	return p, nil
}

// parseTemplate splits the template into literals and placeholders, noting
// for each placeholder whether it sits inside a JSON string, and checks that
// a JSON template is JSON whatever the values are.
func (t *Transformer) parseTemplate(tmpl string) error {
	trimmed := strings.TrimSpace(tmpl)
	t.isJSON = strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")

	var (
		inString, escaped, stringIsKey bool
		containers                     []byte
		expectKey                      bool
		lit                            strings.Builder
		// skeleton is the template with every placeholder replaced by
		// filler of the same length, to check JSON syntax with template
		// positions.
		skeleton strings.Builder
	)
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c == '<' {
			if m := placeholderRE.FindStringSubmatch(tmpl[i:]); m != nil {
				name := m[1]
				where := "InputTemplate " + position(tmpl, i)
				_, defined := t.paths[name]
				switch {
				case !defined && !predefined[name]:
					return &CompileError{Where: where, Msg: fmt.Sprintf("placeholder <%s> is not defined in InputPathsMap", name)}
				case inString && stringIsKey && t.isJSON:
					return &CompileError{Where: where, Msg: fmt.Sprintf("placeholder <%s> is used as an object key", name)}
				case inString && (name == Event || name == EventJSON):
					return &CompileError{Where: where, Msg: fmt.Sprintf("<%s> may only be the value of a JSON field, not inside quotes", name)}
				}
				if lit.Len() > 0 {
					t.segments = append(t.segments, segment{literal: lit.String()})
					lit.Reset()
				}
				t.segments = append(t.segments, segment{name: name, quoted: inString, offset: i})
				if inString {
					skeleton.WriteString(strings.Repeat(" ", len(m[0])))
				} else {
					skeleton.WriteString("0" + strings.Repeat(" ", len(m[0])-1))
				}
				escaped = false
				i += len(m[0])
				continue
			}
		}
		lit.WriteByte(c)
		skeleton.WriteByte(c)
		i++
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if stringIsKey {
					expectKey = false
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			stringIsKey = len(containers) > 0 && containers[len(containers)-1] == '{' && expectKey
		case '{':
			containers = append(containers, '{')
			expectKey = true
		case '[':
			containers = append(containers, '[')
			expectKey = false
		case '}', ']':
			if len(containers) > 0 {
				containers = containers[:len(containers)-1]
			}
			expectKey = false
		case ',':
			expectKey = len(containers) > 0 && containers[len(containers)-1] == '{'
		case ':':
			expectKey = false
		}
	}
	if lit.Len() > 0 {
		t.segments = append(t.segments, segment{literal: lit.String()})
	}
	if t.isJSON {
		if err := checkJSON([]byte(skeleton.String())); err != nil {
			return &CompileError{Where: "InputTemplate " + position(tmpl, err.offset), Msg: "not valid JSON: " + err.cause.Error()}
		}
		// Quoted placeholders are blanks and unquoted ones digits in the
		// skeleton, so its keys are the template's whatever the values.
		t.keys, _ = ObjectKeys([]byte(skeleton.String()))
	}
	return nil
}

// Uses lists every placeholder occurrence of the template, in order.
func (t *Transformer) Uses() []Use {
	var uses []Use
	for _, seg := range t.segments {
		if seg.name == "" {
			continue
		}
		u := Use{Name: seg.name, Path: t.rawPaths[seg.name], Quoted: seg.quoted, Offset: seg.offset}
		u.Line, u.Column = lineColumn(t.tmpl, seg.offset)
		if seg.quoted {
			end := seg.offset + len(seg.name) + 2
			u.WholeString = seg.offset >= 1 && t.tmpl[seg.offset-1] == '"' && (seg.offset < 2 || t.tmpl[seg.offset-2] != '\\') &&
				end < len(t.tmpl) && t.tmpl[end] == '"'
		}
		uses = append(uses, u)
	}
	return uses
}

// TemplateKeys returns the top-level keys of a JSON object template, in
// order, as every message it renders should have them; nil when the
// template is not a JSON object.
func (t *Transformer) TemplateKeys() []string { return append([]string(nil), t.keys...) }

// ObjectKeys returns the top-level keys of a JSON object, in order and with
// duplicates (which encoding/json would silently merge, the last one
// winning). It fails when b is not a JSON object.
func ObjectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	keys := []string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		keys = append(keys, key)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

type jsonSyntaxError struct {
	offset int
	cause  error
}

func checkJSON(b []byte) *jsonSyntaxError {
	// Unmarshal, unlike Compact, reports the offset of a syntax error.
	err := json.Unmarshal(b, new(json.RawMessage))
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset) - 1
		if off < 0 {
			off = 0
		}
		return &jsonSyntaxError{offset: off, cause: err}
	}
	return &jsonSyntaxError{offset: len(b), cause: err}
}

// position renders a byte offset as "line L, column C" (1-based, columns in
// characters).
func position(s string, offset int) string {
	line, col := lineColumn(s, offset)
	return fmt.Sprintf("line %d, column %d", line, col)
}

func lineColumn(s string, offset int) (int, int) {
	if offset > len(s) {
		offset = len(s)
	}
	before := s[:offset]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// Apply renders the template for event with no rule metadata; see Render.
func (t *Transformer) Apply(event []byte) ([]byte, error) {
	r, err := t.Render(event, Meta{})
	if err != nil {
		return nil, err
	}
	return r.Output, nil
}

// Render extracts the paths from event and renders the template.
func (t *Transformer) Render(event []byte, meta Meta) (Rendered, error) {
	if !json.Valid(event) {
		return Rendered{}, fmt.Errorf("rule %s: event is not valid JSON", ruleLabel(meta.RuleName))
	}
	doc := newEventDoc(event)
	var out bytes.Buffer
	var r Rendered
	seenMissing, seenUnescaped := map[string]bool{}, map[string]bool{}
	for _, seg := range t.segments {
		if seg.name == "" {
			out.WriteString(seg.literal)
			continue
		}
		val, found, err := t.value(seg.name, doc, meta)
		if err != nil {
			return Rendered{}, fmt.Errorf("rule %s: placeholder <%s>: %w", ruleLabel(meta.RuleName), seg.name, err)
		}
		isNull := found && bytes.Equal(val, []byte("null"))
		if found && !isNull {
			if r.Values == nil {
				r.Values = map[string]json.RawMessage{}
			}
			r.Values[seg.name] = json.RawMessage(val)
		}
		if !found || isNull {
			if !seenMissing[seg.name] {
				seenMissing[seg.name] = true
				r.Missing = append(r.Missing, seg.name)
			}
			if !seg.quoted {
				out.WriteString("null")
			}
			continue
		}
		if !seg.quoted {
			out.Write(val)
			continue
		}
		if val[0] != '"' {
			// Numbers, booleans, objects and arrays go in as their JSON text.
			if bytes.ContainsAny(val, `"\`) && !seenUnescaped[seg.name] {
				seenUnescaped[seg.name] = true
				r.Unescaped = append(r.Unescaped, seg.name)
			}
			out.Write(val)
			continue
		}
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return Rendered{}, fmt.Errorf("rule %s: placeholder <%s>: %w", ruleLabel(meta.RuleName), seg.name, err)
		}
		if needsEscaping(s) && !seenUnescaped[seg.name] {
			seenUnescaped[seg.name] = true
			r.Unescaped = append(r.Unescaped, seg.name)
		}
		out.WriteString(s)
	}
	if !t.isJSON {
		r.Output = out.Bytes()
		return r, nil
	}
	if serr := checkJSON(out.Bytes()); serr != nil {
		line, col := lineColumn(out.String(), serr.offset)
		return Rendered{}, &OutputError{
			Rule: meta.RuleName, Line: line, Column: col, Offset: serr.offset,
			Output: out.Bytes(), Cause: serr.cause, Suspects: r.Unescaped,
		}
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, out.Bytes()) // valid: checked above
	r.Output = compact.Bytes()
	return r, nil
}

func ruleLabel(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return strconv.Quote(name)
}

func needsEscaping(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return true
		}
	}
	return false
}

// value returns the compact JSON text of a placeholder's value, and whether
// the path found anything.
func (t *Transformer) value(name string, doc *eventDoc, meta Meta) ([]byte, bool, error) {
	event := doc.raw
	switch name {
	case RuleARN:
		return jsonString(meta.RuleARN), true, nil
	case RuleName:
		return jsonString(meta.RuleName), true, nil
	case IngestionTime:
		at := meta.IngestionTime
		if at.IsZero() {
			at = time.Now()
		}
		return jsonString(at.UTC().Format(time.RFC3339)), true, nil
	case EventJSON:
		return compactJSON(event), true, nil
	case Event:
		v, err := withoutTopLevelKey(event, "detail")
		return v, err == nil, err
	}
	v, found := doc.lookup(t.paths[name])
	return v, found, nil
}

func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// eventDoc is an event being rendered: each object or array on the way to
// a placeholder's value is decoded once, however many paths cross it, and
// values keep their original text (and key order).
type eventDoc struct {
	raw     []byte
	objects map[string]map[string]json.RawMessage // by path prefix
	arrays  map[string][]json.RawMessage
}

func newEventDoc(raw []byte) *eventDoc {
	return &eventDoc{raw: raw, objects: map[string]map[string]json.RawMessage{}, arrays: map[string][]json.RawMessage{}}
}

// lookup walks p through the event and returns the compact JSON text of what
// it finds, and whether it found anything.
func (d *eventDoc) lookup(p path) ([]byte, bool) {
	cur := json.RawMessage(d.raw)
	prefix := ""
	for _, st := range p {
		if st.isIndex {
			arr, ok := d.arrays[prefix]
			if !ok {
				if json.Unmarshal(cur, &arr) != nil {
					arr = nil
				}
				d.arrays[prefix] = arr
			}
			if st.index >= len(arr) {
				return nil, false
			}
			cur = arr[st.index]
			prefix += "[" + strconv.Itoa(st.index) + "]"
			continue
		}
		obj, ok := d.objects[prefix]
		if !ok {
			if json.Unmarshal(cur, &obj) != nil {
				obj = nil
			}
			d.objects[prefix] = obj
		}
		next, ok := obj[st.key]
		if !ok {
			return nil, false
		}
		cur = next
		// Keys may hold '.', '[' or '"': quote them so prefixes stay distinct.
		prefix += "." + strconv.Quote(st.key)
	}
	return compactJSON(cur), true
}

// withoutTopLevelKey returns the event object without one of its keys, in
// the original key order.
func withoutTopLevelKey(event []byte, drop string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("the event is not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read event key: %w", err)
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("read event field %q: %w", key, err)
		}
		if key == drop {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		out.Write(jsonString(key))
		out.WriteByte(':')
		out.Write(compactJSON(val))
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read event: %w", err)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
