package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// node is a JSON value that remembers its key order and duplicate keys,
// which encoding/json's map decoding forgets.
type node struct {
	kind    nodeKind
	members []member // object, in document order, duplicates included
	items   []*node  // array
	str     string   // string
	num     json.Number
	boolean bool
}

type member struct {
	key   string
	value *node
}

type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k nodeKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// maxDepth bounds nesting: a config is a few levels deep, and a document
// nested thousands of levels deep is an attack on the decoder, not a config.
const maxDepth = 64

// parseTree decodes exactly one JSON document. Syntax errors carry the
// line and column where they are.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := parseValue(dec, 0)
	if err != nil {
		return nil, positioned(data, dec.InputOffset(), err)
	}
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			// InputOffset is just past the token; point at its first byte.
			return nil, positioned(data, dec.InputOffset()-int64(len(fmt.Sprint(tok))),
				fmt.Errorf("unexpected %v after the end of the document", tok))
		}
		return nil, positioned(data, dec.InputOffset(), err)
	}
	return root, nil
}

func parseValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := token(dec)
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, boolean: tok}, nil
	case json.Number:
		return &node{kind: kindNumber, num: tok}, nil
	case string:
		return &node{kind: kindString, str: tok}, nil
	case json.Delim:
		switch tok {
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				keyTok, err := token(dec)
				if err != nil {
					return nil, err
				}
				key, ok := keyTok.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", keyTok)
				}
				value, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: key, value: value})
			}
			if _, err := token(dec); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				item, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			if _, err := token(dec); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// token reads the next token; the end of input inside a document is
// reported as unexpected, which is what it is.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, io.ErrUnexpectedEOF
	}
	return tok, err
}

// positioned adds "line L, column C" to a decode error, from the offset
// encoding/json reports for syntax errors, else the given one.
func positioned(data []byte, offset int64, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		// From Decoder.Token, Offset is the offending byte's own offset.
		offset = syntax.Offset
	}
	line, col := lineColumn(data, offset)
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func lineColumn(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
