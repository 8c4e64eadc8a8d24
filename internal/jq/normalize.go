package jq

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
)

// Normalize returns v in the shapes gojq works with: nil, bool, string, int,
// float64, *big.Int, json.Number, []any and map[string]any. Values decoded
// by encoding/json (with or without UseNumber) are already in those shapes and
// are returned as they are, without copying. Other Go values (typed slices
// and maps, int64, structs) are converted; a value JSON cannot represent
// (a channel, NaN) is an error.
func Normalize(v any) (any, error) {
	if isNormal(v) {
		return v, nil
	}
	return normalize(v)
}

func isNormal(v any) bool {
	switch v := v.(type) {
	case nil, bool, string, int, json.Number, *big.Int:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if !isNormal(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !isNormal(e) {
				return false
			}
		}
		return true
	}
	return false
}

func normalize(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, string, int, json.Number, *big.Int:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("normalize: %v is not a JSON number", v)
		}
		return v, nil
	case float32:
		return normalize(float64(v))
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, uint:
		return normalizeInteger(v), nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
			out[k] = n
		}
		return out, nil
	}
	// Anything else (typed maps and slices, structs, pointers): let
	// encoding/json decide what it means as JSON, exactly as it would be
	// sent, then decode with UseNumber so no precision is lost.
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("normalize %T: %w", v, err)
	}
	var out any
	if err := decodeJSON(data, &out); err != nil {
		return nil, fmt.Errorf("normalize %T: %w", v, err)
	}
	return out, nil
}

func normalizeInteger(v any) any {
	var b big.Int
	switch v := v.(type) {
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		if v >= math.MinInt && v <= math.MaxInt {
			return int(v)
		}
		b.SetInt64(v)
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		return int(v)
	case uint:
		if v <= math.MaxInt {
			return int(v)
		}
		b.SetUint64(uint64(v))
	case uint64:
		if v <= math.MaxInt {
			return int(v)
		}
		b.SetUint64(v)
	}
	return &b
}
