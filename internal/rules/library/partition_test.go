package library

import (
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

// The rules that build an ARN from the event's region name its partition by
// the SDK's partition patterns (internal/catalog), every partition included:
// an ARN of the European Sovereign Cloud or an ISO region names its own.
func TestRulesNamePartitionsByTheSDK(t *testing.T) {
	want := catalog.PartitionJQ(".awsRegion")
	n := 0
	for _, k := range allKinds(t) {
		for _, expr := range []string{k.Rule.Action, k.Rule.Identifier, k.Rule.ResourceIdentifier, k.Rule.EntityIdentifier} {
			if !strings.Contains(expr, `"aws-cn"`) {
				continue
			}
			n++
			if !strings.Contains(expr, want) {
				t.Errorf("%s: expression %q names partitions otherwise than\n  %s", k.Type, expr, want)
			}
		}
	}
	if n < 10 {
		t.Errorf("%d expressions compute a partition, want at least 10", n)
	}
	for _, p := range []string{"aws-eusc", "aws-iso-b", "aws-iso-e", "aws-iso-f"} {
		if !strings.Contains(want, p) {
			t.Errorf("the partition expression lacks %s: %s", p, want)
		}
	}
}
