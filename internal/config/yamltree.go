package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// maxYAMLValues bounds how many values a YAML document may expand to
// through aliases (the "billion laughs" document is a few lines long).
const maxYAMLValues = 1 << 20

// parseYAMLTree reads one YAML document into the same tree as JSON, from
// go-yaml's node API rather than by converting to JSON, so that key order
// and duplicate keys survive, and with YAML 1.2 scalars: "on", "yes" and
// "y" stay strings, as a property name or a tag value should.
func parseYAMLTree(data []byte) (*node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the document is empty")
		}
		// go-yaml v3 often reports a syntax error at the line where the
		// enclosing block starts (line 1 for a typo on line 40); v2's
		// scanner names the line of the typo itself. Prefer that message
		// when v2 rejects the document too.
		if _, v2err := sigsyaml.YAMLToJSON(data); v2err != nil {
			return nil, v2err
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; a config is one document", next.Line)
	}
	c := yamlConverter{budget: maxYAMLValues}
	return c.convert(&doc, 0)
}

type yamlConverter struct {
	budget int
}

func (c *yamlConverter) convert(n *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d, column %d: nested deeper than %d levels", n.Line, n.Column, maxDepth)
	}
	if c.budget--; c.budget < 0 {
		return nil, fmt.Errorf("line %d, column %d: the document expands to more than %d values through aliases", n.Line, n.Column, maxYAMLValues)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &node{kind: kindNull}, nil
		}
		return c.convert(n.Content[0], depth)
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := &node{kind: kindArray}
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := &node{kind: kindObject}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			if key.Kind == yaml.AliasNode {
				key = key.Alias
			}
			if key.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d, column %d: a mapping key must be a plain value", key.Line, key.Column)
			}
			if key.ShortTag() == "!!merge" {
				return nil, fmt.Errorf("line %d, column %d: YAML merge keys (<<) are not supported; write the keys out", key.Line, key.Column)
			}
			v, err := c.convert(value, depth+1)
			if err != nil {
				return nil, err
			}
			out.members = append(out.members, member{key: key.Value, value: v})
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return &node{kind: kindNull}, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d, column %d: %w", n.Line, n.Column, err)
			}
			return &node{kind: kindBool, boolean: b}, nil
		case "!!int", "!!float":
			// The config has no numeric settings: a number is only ever
			// reported as "not a string", so its exact value does not matter.
			return &node{kind: kindNumber, num: json.Number(n.Value)}, nil
		default: // !!str, !!timestamp, !!binary, custom tags: the text as written
			return &node{kind: kindString, str: n.Value}, nil
		}
	}
	return nil, fmt.Errorf("line %d, column %d: unsupported YAML node", n.Line, n.Column)
}
