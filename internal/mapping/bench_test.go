package mapping

import (
	"fmt"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// benchConfig is a Lambda mapping with ten properties of the kinds Port's
// published configs use: plain fields, string building, nested paths, a
// conditional, a split, and a tags-to-object transform.
const benchConfig = `{"resources": [{"kind": "AWS::Lambda::Function", "selector": {"query": ".FunctionName | startswith(\"amplify\") | not"},
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "title": ".FunctionName", "blueprint": "lambda",
    "properties": {
      "link": "\"https://console.aws.amazon.com/go/view?arn=\" + .Arn",
      "memorySize": ".MemorySize",
      "timeout": ".Timeout",
      "runtime": ".Runtime",
      "ephemeralStorageSize": ".EphemeralStorage.Size",
      "architectures": ".Architectures",
      "environment": ".Environment",
      "iamRole": ".Role | if . == null then null else \"https://console.aws.amazon.com/go/view?arn=\" + . end",
      "account": ".Arn | split(\":\")[4]",
      "tags": ".Tags // [] | map({(.Key): .Value}) | add"
    },
    "relations": {"region": ".Arn | split(\":\")[3]"}}]}}}]}`

func benchResources(n int) []source.Resource {
	out := make([]source.Resource, n)
	for i := range out {
		name := fmt.Sprintf("fn-%05d", i)
		out[i] = source.Resource{
			AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::Lambda::Function", Identifier: name,
			Properties: map[string]any{
				"FunctionName":     name,
				"Arn":              "arn:aws:lambda:eu-west-1:123456789012:function:" + name,
				"Role":             "arn:aws:iam::123456789012:role/" + name,
				"Runtime":          "python3.12",
				"Handler":          "app.handler",
				"MemorySize":       256,
				"Timeout":          30,
				"EphemeralStorage": map[string]any{"Size": 512},
				"Architectures":    []any{"arm64"},
				"Environment":      map[string]any{"Variables": map[string]any{"TABLE": "orders", "STAGE": "prod"}},
				"Tags":             []any{map[string]any{"Key": "team", "Value": "payments"}, map[string]any{"Key": "env", "Value": "prod"}},
			},
		}
	}
	return out
}

// BenchmarkMap10k maps 10,000 Lambda functions through a 10-property config;
// one iteration is the whole batch. Figures: internal/mapping/BENCHMARKS.md.
func BenchmarkMap10k(b *testing.B) {
	r := compileConfig(b, []byte(benchConfig)).Resources()[0]
	resources := benchResources(10_000)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		for _, res := range resources {
			out, err := r.Map(ctx, res)
			if err != nil || len(out.Entities) != 1 {
				b.Fatalf("%s: %v %v", res.Identifier, out, err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(resources))/b.Elapsed().Seconds(), "resources/s")
}
