package jq

import (
	"context"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// benchExprs are mapping expressions of the kinds Port's configs use, the
// guarded ones (+, split, add, interpolation) among them.
var benchExprs = []string{
	`.FunctionName`,
	`"https://console.aws.amazon.com/go/view?arn=" + .Arn`,
	`.Arn | split(":")[4]`,
	`.Tags // [] | map({(.Key): .Value}) | add`,
	`"\(.FunctionName)-\(.MemorySize)"`,
}

var benchInput = map[string]any{
	"FunctionName": "fn-00001", "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:fn-00001", "MemorySize": 256,
	"Tags": []any{map[string]any{"Key": "team", "Value": "payments"}, map[string]any{"Key": "env", "Value": "prod"}},
}

// BenchmarkFirst compares one evaluation through Compile (guards, budget,
// deadline) with plain gojq under a context.WithTimeout: what the guards
// cost an honest mapping expression.
func BenchmarkFirst(b *testing.B) {
	for _, expr := range benchExprs {
		b.Run("guarded/"+expr, func(b *testing.B) {
			q := mustCompile(b, expr)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := q.First(ctx, benchInput); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run("plain/"+expr, func(b *testing.B) {
			parsed, err := gojq.Parse(expr)
			if err != nil {
				b.Fatal(err)
			}
			code, err := gojq.Compile(parsed)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(b.Context(), time.Second)
				v, ok := code.RunWithContext(ctx, benchInput).Next()
				cancel()
				if _, isErr := v.(error); isErr || !ok {
					b.Fatal(v)
				}
			}
		})
	}
}
