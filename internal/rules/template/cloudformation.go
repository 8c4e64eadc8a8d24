package template

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// parseCloudFormation reads a template through yaml.v3's node tree, which
// keeps line numbers, custom tags and scalar text; JSON is read the same way
// since it is YAML.
func parseCloudFormation(data []byte, file string) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Msg: "not a YAML or JSON CloudFormation template: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "empty template"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "a template must be a mapping with Resources"}
	}
	resources := mappingValue(root, "Resources")
	if resources == nil {
		return nil, &Error{File: file, Line: root.Line, Msg: "template has no Resources section"}
	}
	if resources.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: resources.Line, Path: "Resources", Msg: "must be a mapping"}
	}
	var rules []Rule
	for i := 0; i+1 < len(resources.Content); i += 2 {
		idNode, res := resources.Content[i], resolveAlias(resources.Content[i+1])
		if res.Kind != yaml.MappingNode {
			continue
		}
		typ := mappingValue(res, "Type")
		if typ == nil || typ.Value != RuleType {
			continue
		}
		r, err := readCFRule(idNode, res, file)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(m, key)
	return v
}

// mappingEntry returns the key and value nodes of key in mapping m.
func mappingEntry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], resolveAlias(m.Content[i+1])
		}
	}
	return nil, nil
}

// resolveAlias follows an alias (*name) to the node it names, so that
// structure written with anchors reads like structure written out.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; i < 10 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func readCFRule(idNode, res *yaml.Node, file string) (Rule, error) {
	id := idNode.Value
	r := Rule{LogicalID: id, File: file, Line: idNode.Line}
	// fail reports a problem at node n, or at the rule's key when n is nil.
	fail := func(n *yaml.Node, path, format string, args ...any) error {
		line := idNode.Line
		if n != nil {
			line = n.Line
		}
		return &Error{File: file, Line: line, Rule: id, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	propsKey, props := mappingEntry(res, "Properties")
	if props == nil {
		return r, fail(nil, "Properties", "missing: a rule needs an EventPattern")
	}
	if props.Kind != yaml.MappingNode {
		return r, fail(props, "Properties", "must be a mapping")
	}
	var err error
	for _, f := range []struct {
		key string
		dst *Value
	}{{"Name", &r.Name}, {"EventBusName", &r.EventBusName}, {"State", &r.State}} {
		if n := mappingValue(props, f.key); n != nil {
			if *f.dst, err = readValue(n); err != nil {
				return r, fail(n, "Properties."+f.key, "%v", err)
			}
		}
	}
	pat := mappingValue(props, "EventPattern")
	if pat == nil {
		return r, fail(propsKey, "Properties.EventPattern", "missing (rules on a schedule cannot be tested against events)")
	}
	if r.EventPattern, err = readPattern(pat); err != nil {
		return r, fail(pat, "Properties.EventPattern", "%v", err)
	}
	targets := mappingValue(props, "Targets")
	if targets == nil {
		return r, nil
	}
	if targets.Kind != yaml.SequenceNode {
		return r, fail(targets, "Properties.Targets", "must be a list")
	}
	for i, tn := range targets.Content {
		tn = resolveAlias(tn)
		path := fmt.Sprintf("Properties.Targets[%d]", i)
		if tn.Kind != yaml.MappingNode {
			return r, fail(tn, path, "must be a mapping")
		}
		t := Target{Line: tn.Line}
		if n := mappingValue(tn, "Id"); n != nil {
			if t.ID, err = readString(n); err != nil {
				return r, fail(n, path+".Id", "%v", err)
			}
		}
		if n := mappingValue(tn, "Arn"); n != nil {
			if t.Arn, err = readValue(n); err != nil {
				return r, fail(n, path+".Arn", "%v", err)
			}
		}
		if n := mappingValue(tn, "Input"); n != nil {
			if t.Input, err = readString(n); err != nil {
				return r, fail(n, path+".Input", "%v", err)
			}
		}
		if n := mappingValue(tn, "InputPath"); n != nil {
			if t.InputPath, err = readString(n); err != nil {
				return r, fail(n, path+".InputPath", "%v", err)
			}
		}
		if itKey, itn := mappingEntry(tn, "InputTransformer"); itn != nil {
			itPath := path + ".InputTransformer"
			if itn.Kind != yaml.MappingNode {
				return r, fail(itn, itPath, "must be a mapping")
			}
			it := &InputTransformer{InputPathsMap: map[string]string{}}
			if m := mappingValue(itn, "InputPathsMap"); m != nil {
				if m.Kind != yaml.MappingNode {
					return r, fail(m, itPath+".InputPathsMap", "must be a mapping of names to paths")
				}
				for j := 0; j+1 < len(m.Content); j += 2 {
					name := m.Content[j].Value
					if _, dup := it.InputPathsMap[name]; dup {
						return r, fail(m.Content[j], itPath+".InputPathsMap."+name, "defined twice")
					}
					v, err := readString(resolveAlias(m.Content[j+1]))
					if err != nil {
						return r, fail(m.Content[j+1], itPath+".InputPathsMap."+name, "%v", err)
					}
					it.InputPathsMap[name] = v
				}
			}
			tmpl := mappingValue(itn, "InputTemplate")
			if tmpl == nil {
				return r, fail(itKey, itPath+".InputTemplate", "missing")
			}
			if it.InputTemplate, err = readString(tmpl); err != nil {
				return r, fail(tmpl, itPath+".InputTemplate", "%v", err)
			}
			t.InputTransformer = it
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// readString reads a plain string scalar; an intrinsic here cannot be
// evaluated offline, so it is an error.
func readString(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || isIntrinsicTag(n.Tag) {
		return "", fmt.Errorf("must be a plain string (intrinsic functions cannot be evaluated offline), got %s", describe(n))
	}
	return n.Value, nil
}

// readValue reads a string or an unresolved intrinsic function.
func readValue(n *yaml.Node) (Value, error) {
	if n.Kind == yaml.ScalarNode && !isIntrinsicTag(n.Tag) {
		return Value{Literal: n.Value}, nil
	}
	v, err := toJSONValue(n)
	if err != nil {
		return Value{}, err
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k := range m {
			if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
				b, err := json.Marshal(v)
				return Value{Intrinsic: b}, err
			}
		}
	}
	return Value{}, fmt.Errorf("must be a string or an intrinsic function, got %s", describe(n))
}

// readPattern turns an EventPattern (a mapping, or a JSON string) into JSON text.
func readPattern(n *yaml.Node) (json.RawMessage, error) {
	if n.Kind == yaml.ScalarNode && !isIntrinsicTag(n.Tag) && n.Tag != "!!null" {
		var v any
		dec := json.NewDecoder(strings.NewReader(n.Value))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("string is not JSON: %v", err)
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("must be a JSON object, got %s", n.Value)
		}
		return json.RawMessage(strings.TrimSpace(n.Value)), nil
	}
	if n.Kind != yaml.MappingNode || isIntrinsicTag(n.Tag) {
		return nil, fmt.Errorf("must be a mapping or a JSON string, got %s", describe(n))
	}
	v, err := toJSONValue(n)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func describe(n *yaml.Node) string {
	switch {
	case isIntrinsicTag(n.Tag):
		return "intrinsic " + n.Tag
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	}
	return "scalar " + strconv.Quote(n.Value)
}

// isIntrinsicTag reports a CloudFormation short-form tag such as !Ref.
func isIntrinsicTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// Limits on converting one value, so that a hostile template (an alias
// that contains itself, or aliases of aliases that expand exponentially)
// fails fast instead of exhausting the stack or memory.
const (
	maxDepth = 200
	maxNodes = 100_000
)

// toJSONValue converts a node to JSON-ready values: mappings to
// map[string]any, numbers to json.Number with their written text, and
// short-form intrinsics to their long form.
func toJSONValue(n *yaml.Node) (any, error) {
	c := converter{expanding: map[*yaml.Node]bool{}}
	return c.value(n, 0)
}

type converter struct {
	expanding map[*yaml.Node]bool // aliased nodes being converted
	nodes     int
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	switch {
	case depth > maxDepth:
		return nil, fmt.Errorf("line %d: nested more than %d levels deep", n.Line, maxDepth)
	case c.nodes > maxNodes:
		return nil, fmt.Errorf("line %d: value expands to more than %d nodes (YAML aliases?)", n.Line, maxNodes)
	}
	if isIntrinsicTag(n.Tag) {
		return c.intrinsic(n, depth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if c.expanding[n.Alias] {
			return nil, fmt.Errorf("line %d: alias *%s refers to itself", n.Line, n.Value)
		}
		c.expanding[n.Alias] = true
		v, err := c.value(n.Alias, depth+1)
		delete(c.expanding, n.Alias)
		return v, err
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" && k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: YAML merge keys are not supported", k.Line)
			}
			v, err := c.value(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int", "!!float":
		// Keep the number as written when it is a JSON number, so that
		// exact pattern matching by representation sees the same text.
		if json.Valid([]byte(n.Value)) {
			return json.Number(n.Value), nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return n.Value, nil
}

// intrinsic converts a short-form tag to the long form CloudFormation
// defines: !Ref x → {"Ref": x}, !Condition x → {"Condition": x},
// !GetAtt a.b → {"Fn::GetAtt": ["a", "b"]}, !X v → {"Fn::X": v}.
func (c *converter) intrinsic(n *yaml.Node, depth int) (any, error) {
	name := strings.TrimPrefix(n.Tag, "!")
	plain := *n
	plain.Tag = ""
	if n.Kind == yaml.ScalarNode {
		plain.Tag = "!!str"
	}
	v, err := c.value(&plain, depth+1)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			resource, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q needs Resource.Attribute", n.Line, s)
			}
			v = []any{resource, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}
