package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defences against hostile message bodies. They run before anything else
// looks at a message, and each costs time and memory linear in the body.

// contractKeys are the fields whose meaning the contract defines. Keys that
// differ from one of them only in case ("Resource_Type" beside
// "resource_type") are refused like duplicates: no template writes both, and
// a consumer that matches keys without regard to case would read the other.
var contractKeys = []string{"resource_type", "region", "action", "identifier", "resource_identifier", "entity_identifier", shardEnvelopeKey}

// checkKeys refuses a body in which an object holds the same key twice, at
// any depth, or holds two spellings of a contract key. encoding/json keeps the
// last duplicate silently, so an attacker who can put `","resource_type":"...`
// into a quoted placeholder would otherwise choose the value the exporter
// reads. Syntax errors are left to the decoder that follows.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		// expectKey: the next string token in this object is a key.
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // not JSON: the decoder reports it with its offset
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					return permanent(ReasonDuplicateKey, "key %q appears twice in one object at depth %d: a value inserted into the rule's template unescaped can do that, so the message is not acted on", key, len(stack))
				}
				if len(stack) == 1 {
					if err := checkSpelling(top.keys, key); err != nil {
						return err
					}
				}
				top.keys[key] = true
				top.expectKey = false
				continue
			}
		}
		if top != nil && top.object && !top.expectKey {
			// a value of the object: the next token is a key again
			top.expectKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
}

// checkSpelling refuses a top-level key that is a contract key spelled in
// another case than a key already seen. seen holds the keys so far, and the
// lower-case form of each contract key under a prefix no JSON key can have.
func checkSpelling(seen map[string]bool, key string) error {
	lower := strings.ToLower(key)
	for _, k := range contractKeys {
		if lower != k {
			continue
		}
		marker := "\x00" + k
		if seen[marker] && !seen[key] {
			return permanent(ReasonDuplicateKey, "key %q is %q spelled in another case, which the message also has", key, k)
		}
		seen[marker] = true
	}
	return nil
}

// Bounds of one message expression, checked on its text before gojq parses
// it: the library's longest is under 700 bytes and nests 6 deep, so these
// leave room for hand-written rules while a hostile 120 KB expression of
// nested brackets costs microseconds instead of seconds and hundreds of MB.
const (
	MaxExpressionBytes = 4 << 10
	MaxExpressionDepth = 32
)

func checkExpressionBounds(expr string) error {
	if len(expr) > MaxExpressionBytes {
		return fmt.Errorf("expression is %d bytes, more than the %d a message expression may be", len(expr), MaxExpressionBytes)
	}
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			depth++
			if depth > MaxExpressionDepth {
				return fmt.Errorf("expression nests brackets more than %d deep", MaxExpressionDepth)
			}
		case c == ')' || c == ']' || c == '}':
			depth--
		}
	}
	return nil
}
