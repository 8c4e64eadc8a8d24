// Package jsonvalue decodes and encodes the JSON documents the exporter
// handles in bulk, as the dynamic values gojq works with: map[string]any,
// []any, string, bool, nil, and numbers as int (integers that fit), *big.Int
// (larger integers) or float64, so that no digit of an ID or size is lost.
//
// It exists for speed (issue 11): encoding/json's reflection into `any`
// was a third of the mapping benchmark's CPU. Decoding reads tokens with
// jsontext (github.com/go-json-experiment/json, the prototype of Go's
// encoding/json/v2, which Go 1.26 ships only behind GOEXPERIMENT=jsonv2, a
// flag a product cannot ask its users to build with) and builds the values
// itself; encoding appends bytes directly. Both keep encoding/json's
// results: Decode accepts what encoding/json with UseNumber accepts and
// yields the same values (invalid UTF-8 as U+FFFD, the last of duplicate
// names), and Append writes what an encoding/json Encoder with
// SetEscapeHTML(false) writes, byte for byte (keys sorted, floats in its
// format); the fuzz tests hold them to both.
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth bounds nesting as encoding/json does (10,000 levels), so a
// hostile document cannot exhaust the stack.
const maxDepth = 10000

// decodeOptions make jsontext accept what encoding/json accepts.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// DecodeObject decodes a JSON document that must be one object (or null,
// which yields nil) followed by nothing but whitespace.
func DecodeObject(doc []byte) (map[string]any, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(doc), decodeOptions...)
	switch kind := dec.PeekKind(); kind {
	case '{':
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return nil, trailing(dec)
	case 0:
		_, err := dec.ReadToken() // the syntax error
		return nil, err
	default:
		return nil, fmt.Errorf("the document is a JSON %s, not an object", kindName(kind))
	}
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), trailing(dec)
}

func trailing(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	}
	return "value"
}

func readValue(dec *jsontext.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("exceeded max depth")
	}
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := name.String() // the token is void after the next read
			v, err := readValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := readValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	case '0':
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		return Number(string(raw)), nil
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %s", tok.Kind())
}

// Number is the exact value of a JSON number literal: int when it is an
// integer that fits, *big.Int when it is a larger integer, else float64;
// a literal out of float64's range stays its digits (a string) rather than
// lose the value.
func Number(lit string) any {
	if i, err := strconv.Atoi(lit); err == nil {
		return i
	}
	if b, ok := new(big.Int).SetString(lit, 10); ok {
		return b
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return f
}

// Append appends the JSON encoding of v to dst: what an encoding/json
// Encoder with SetEscapeHTML(false) writes, without its newline. Types
// other than the decoded ones (and *big.Int) go through encoding/json.
func Append(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return AppendString(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return appendFloat(dst, x)
	case *big.Int:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return x.Append(dst, 10), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = Append(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return AppendObject(dst, x)
	}
	return appendOther(dst, v)
}

// AppendObject appends m as a JSON object with its keys sorted.
func AppendObject(dst []byte, m map[string]any) ([]byte, error) {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = Append(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendFloat writes f as encoding/json does: the shortest decimal that
// reads back as f, in exponent form only below 1e-6 or from 1e21, with a
// two-digit exponent trimmed to one (1e-07 → 1e-7).
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it without HTML escaping: quote, backslash and control characters, U+2028
// and U+2029 (which break JavaScript), and invalid UTF-8 as U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendOther encodes what the fast path does not know through
// encoding/json, without HTML escaping.
func appendOther(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
