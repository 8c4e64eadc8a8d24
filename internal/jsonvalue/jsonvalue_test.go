package jsonvalue

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"reflect"
	"testing"
)

// reference is what the exporter did before this package: encoding/json
// with UseNumber, the numbers made exact afterwards.
func reference(doc []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return exactRef(m).(map[string]any), nil
}

func exactRef(v any) any {
	switch x := v.(type) {
	case json.Number:
		return Number(string(x))
	case map[string]any:
		if x == nil {
			return x
		}
		for k, e := range x {
			x[k] = exactRef(e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactRef(e)
		}
	}
	return v
}

// stdEncode is what an encoding/json Encoder without HTML escaping writes.
func stdEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

var seeds = []string{
	`{"a":1,"b":[1.5,"x",null,{"c":123456789012345678901234567890}]}`,
	`null`, `{}`, `[]`, `"s"`, `1`, `{"a":1} {}`, `{"a":1} `, `{"n":1e400}`, `{"n":-0}`, `{"n":-0.0}`,
	`{"f":1e21,"g":1e20,"h":1e-7,"i":0.000001,"j":123.456e-10,"k":-1.5e300}`,
	`{"dup":1,"dup":{"x":2},"dup":[3]}`, `{"o":{"dup":{"a":1},"dup":{"b":2}}}`,
	"{\"bad\":\"\xff\xfe\",\"ls\":\"\u2028\u2029\",\"ctl\":\"\\u0001\\b\\f\\n\\r\\t\\\"\\\\/\"}",
	`{"sur":"\ud83d\ude00 \ud800 \udc00x"}`, `{"html":"<a href='x'>&amp;</a>"}`,
	`{"a":`, `{"a":1,}`, `{"a" 1}`, `[1,2`, ``, ` `, `{"a":tru}`, `{"big":-98765432109876543210,"e":1E+2}`,
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := DecodeObject(doc)
		want, wantErr := reference(doc)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", doc, err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %#v, encoding/json %#v", doc, got, want)
		}
		// What was decoded encodes as encoding/json encodes it.
		if got == nil {
			return
		}
		a, errA := Append(nil, got)
		b, errB := stdEncode(got)
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("%q: Append %s (%v), encoding/json %s (%v)", doc, a, errA, b, errB)
		}
	})
}

// FuzzAppendString holds string escaping to encoding/json's for any bytes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "\xff", "é\u2028\u2029", "<>&", "\"\\", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := stdEncode(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzAppendFloat holds number formatting to encoding/json's.
func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.123, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		got, errA := Append(nil, x)
		want, errB := stdEncode(x)
		if (errA == nil) != (errB == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%v: %s (%v), encoding/json %s (%v)", x, got, errA, want, errB)
		}
	})
}

func TestDecodeKeepsNumbersExact(t *testing.T) {
	got, err := DecodeObject([]byte(`{"int":9007199254740993,"big":123456789012345678901234567890,"neg":-7,"f":2.5,"huge":1e400,"list":[1,1.0]}`))
	if err != nil {
		t.Fatal(err)
	}
	big, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	want := map[string]any{"int": 9007199254740993, "big": big, "neg": -7, "f": 2.5, "huge": "1e400", "list": []any{1, 1.0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestDecodeRefusesWhatIsNotOneObject(t *testing.T) {
	cases := []string{`[]`, `"s"`, `1`, `true`, `{"a":1} {}`, `{"a":1}x`, ``, `{`, `{"a":1,}`}
	for _, doc := range cases {
		if _, err := DecodeObject([]byte(doc)); err == nil {
			t.Errorf("%q decoded without error", doc)
		}
	}
	if len(cases) < 9 {
		t.Fatal("cases lost")
	}
}

func TestAppendFallsBackForOtherTypes(t *testing.T) {
	v := map[string]any{"team": []string{"a", "b<"}, "n": json.Number("12"), "i64": int64(-3), "f32": float32(1.5), "m": map[string]string{"k": "v"}}
	got, err := Append(nil, v)
	want, _ := stdEncode(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s (%v), encoding/json %s", got, err, want)
	}
	if _, err := Append(nil, map[string]any{"x": math.NaN()}); err == nil {
		t.Error("NaN encoded without error")
	}
}

func TestDeepNestingIsRefused(t *testing.T) {
	doc := bytes.Repeat([]byte(`{"a":`), 20000)
	if _, err := DecodeObject(doc); err == nil {
		t.Fatal("20,000 levels decoded")
	}
}
