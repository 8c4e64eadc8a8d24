package events_test

import (
	"context"
	"testing"
)

// BenchmarkParseAndEvaluate: the CPU cost of one seed-rule message before
// any I/O (duplicate-key check, three jq expressions from the cache, run).
func BenchmarkParseAndEvaluate(b *testing.B) {
	body := []byte(`{"requestFunctionName":"test-function","responseFunctionName":"test-function","eventName":"CreateFunction20150331",` +
		`"resource_type":"AWS::Lambda::Function","region":"\"eu-west-1\"",` +
		`"identifier":"if .responseFunctionName != \"\" then .responseFunctionName else .requestFunctionName end",` +
		`"action":"if .eventName | startswith(\"Delete\") then \"delete\" else \"upsert\" end"}`)
	ctx := context.Background()
	for b.Loop() {
		if _, err := parseAndEvaluate(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}
