package describe

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// document turns an SDK item (a types.Instance, a types.LoadBalancer, ...)
// into the JSON document Port's original exporter gave the jq mappings: the
// item as boto3 returns it, passed through json.dumps(default=str). The SDK's
// Go structs carry the API's member names as field names, as boto3's dicts
// do as keys, but differ in how values are held, so marshalling them with
// encoding/json would not give the same document:
//   - a member AWS did not send is a nil pointer, slice or map, or an empty
//     enum string (enums are string types, not pointers): boto3 has no key
//     for it, so neither does the document (encoding/json writes null or "");
//   - timestamps are time.Time; boto3 gives datetime objects, which the
//     original wrote with json.dumps(default=str) as Python's str(datetime),
//     "2024-01-02 03:04:05+00:00" (".ffffff" added when there are
//     microseconds; the original ran in Lambda, whose zone is UTC). Here they
//     are datetime.isoformat(), the same text with a "T" between date and
//     time: RFC 3339, which Port's date-time properties require (the
//     original's str form was refused there; Port's own Ocean integration
//     had to change it the same way), and the one deliberate difference;
//   - blobs ([]byte) are bytes in boto3, written as str(bytes): "b'...'";
//   - numbers are int (integers) or float64, as source.Resource holds them.
//
// Field names are kept as the SDK spells them; the tests compare every
// document with boto3's, key by key, against moto.
func document(item any) map[string]any {
	v, ok := value(reflect.ValueOf(item))
	if !ok {
		return map[string]any{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return map[string]any{}
	}
	return m
}

var (
	timeType  = reflect.TypeOf(time.Time{})
	bytesType = reflect.TypeOf([]byte(nil))
)

// value converts one value; false means the member is absent.
func value(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Invalid:
		return nil, false
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return value(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return isoTime(v.Interface().(time.Time)), true
		}
		return structValue(v), true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		if v.Type() == bytesType {
			return pythonBytes(v.Bytes()), true
		}
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			e, _ := value(v.Index(i)) // an absent element is JSON null in a list
			out = append(out, e)
		}
		return out, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			if e, ok := value(iter.Value()); ok {
				out[fmt.Sprint(iter.Key().Interface())] = e
			}
		}
		return out, true
	case reflect.String:
		s := v.String()
		if s == "" && v.Type().Name() != "string" {
			return nil, false // an enum AWS did not send
		}
		return s, true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

// structValue converts an SDK structure: its exported members. A union
// member type (types.FooMemberBar{Value: x}) is {"Bar": x}, as boto3 gives it.
func structValue(v reflect.Value) any {
	t := v.Type()
	if _, member, ok := strings.Cut(t.Name(), "Member"); ok && member != "" && exportedFields(t) == 1 && t.Field(0).Name == "Value" {
		if e, ok := value(v.Field(0)); ok {
			return map[string]any{member: e}
		}
		return map[string]any{}
	}
	out := map[string]any{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		if e, ok := value(v.Field(i)); ok {
			out[f.Name] = e
		}
	}
	return out
}

func exportedFields(t reflect.Type) int {
	n := 0
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() {
			n++
		}
	}
	return n
}

// isoTime is Python's isoformat() of a timezone-aware UTC datetime: RFC 3339.
func isoTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

// pythonBytes is str(bytes): b'...' with Python's escapes.
func pythonBytes(b []byte) string {
	var sb strings.Builder
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	sb.WriteString("b")
	sb.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == '\\' || c == quote:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

// list converts a slice the original added to a document from another
// call's answer: always a list, [] when AWS sent none.
func list[T any](items []T) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		v, _ := value(reflect.ValueOf(it))
		out = append(out, v)
	}
	return out
}
