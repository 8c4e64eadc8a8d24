package identity

import "testing"

// Partition follows the SDK's partition patterns, so an ARN built for a
// deletion proof names the partition AWS gives it.
func TestPartition(t *testing.T) {
	cases := map[string]string{
		"us-east-1":       "aws",
		"eu-west-1":       "aws",
		"cn-north-1":      "aws-cn",
		"us-gov-west-1":   "aws-us-gov",
		"us-iso-east-1":   "aws-iso",
		"us-isob-east-1":  "aws-iso-b",
		"eu-isoe-west-1":  "aws-iso-e",
		"us-isof-south-1": "aws-iso-f",
		"eusc-de-east-1":  "aws-eusc",
		"not-a-region":    "aws",
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for region, want := range cases {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%q) = %q, want %q", region, got, want)
		}
	}
}
