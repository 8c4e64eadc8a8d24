package jsonvalue

import (
	"bytes"
	"encoding/json"
	"testing"
)

// benchDoc is a Lambda-shaped Cloud Control document, as the sync benchmarks make.
var benchDoc = []byte(`{"Architectures":["arm64"],"Arn":"arn:aws:lambda:eu-west-1:123456789012:lambdafunction/lambdafunction-eu-west-1-000001","Description":"benchmark resource lambdafunction-eu-west-1-000001","Environment":{"Variables":{"STAGE":"prod","TABLE":"orders"}},"EphemeralStorage":{"Size":512},"Handler":"app.handler","MemorySize":256,"Name":"lambdafunction-eu-west-1-000001","Role":"arn:aws:iam::123456789012:role/lambdafunction-eu-west-1-000001","Runtime":"python3.12","State":"Active","Tags":[{"Key":"team","Value":"team-1"},{"Key":"env","Value":"prod"}],"Timeout":30}`)

// BenchmarkDecode and BenchmarkDecodeEncodingJSON compare DecodeObject with
// what it replaced (encoding/json with UseNumber, numbers made exact).
func BenchmarkDecode(b *testing.B) {
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		if _, err := DecodeObject(benchDoc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		if _, err := reference(benchDoc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend and BenchmarkAppendEncodingJSON compare Append with an
// encoding/json Encoder without HTML escaping on the same value.
func BenchmarkAppend(b *testing.B) {
	v, _ := DecodeObject(benchDoc)
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncodingJSON(b *testing.B) {
	v, _ := DecodeObject(benchDoc)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}
