package pattern

import (
	"os"
	"testing"
)

const seedPattern = `{"source": ["aws.lambda"], "detail-type": ["AWS API Call via CloudTrail"],
 "detail": {"eventSource": ["lambda.amazonaws.com"], "errorCode": [{"exists": false}],
 "eventName": [{"prefix": "UpdateFunctionConfiguration"}, {"prefix": "CreateFunction"}, {"prefix": "DeleteFunction"}]}}`

// BenchmarkMatch measures one match of the seed's Lambda rule against a real
// CloudTrail record wrapped as EventBridge delivers it, parsing included.
func BenchmarkMatch(b *testing.B) {
	record, err := os.ReadFile("testdata/lambda_CreateFunction20150331__invictus-ir_aws_dataset.json")
	if err != nil {
		b.Fatal(err)
	}
	event := []byte(`{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"123837392027","time":"2023-07-10T12:25:33Z","region":"us-east-1","resources":[],"detail":` + string(record) + `}`)
	p := MustCompile(seedPattern)
	if !p.Match(event) {
		b.Fatal("the seed pattern should match the CreateFunction record")
	}
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	for b.Loop() {
		p.Match(event)
	}
}

// BenchmarkMatchDecoded measures matching an already decoded event.
func BenchmarkMatchDecoded(b *testing.B) {
	p := MustCompile(seedPattern)
	event := map[string]any{"source": "aws.lambda", "detail-type": "AWS API Call via CloudTrail",
		"detail": map[string]any{"eventSource": "lambda.amazonaws.com", "eventName": "DeleteFunction20150331"}}
	b.ReportAllocs()
	for b.Loop() {
		p.Match(event)
	}
}
