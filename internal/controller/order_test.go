package controller

import (
	"slices"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

func TestInterleaveRegionsKeepsEveryRegionBusy(t *testing.T) {
	// Kind-major order as Shards builds it, with one kind in a single region.
	in := []source.Shard{
		{Region: "us-east-1", Kind: "A"}, {Region: "eu-west-1", Kind: "A"},
		{Region: "us-east-1", Kind: "B"},
		{Region: "us-east-1", Kind: "C"}, {Region: "eu-west-1", Kind: "C"},
	}
	got := interleaveRegions(in, false)
	var names []string
	for _, sh := range got {
		names = append(names, sh.Region+"/"+sh.Kind)
	}
	want := []string{"us-east-1/A", "eu-west-1/A", "us-east-1/B", "eu-west-1/C", "us-east-1/C"}
	if !slices.Equal(names, want) {
		t.Fatalf("order = %v, want %v", names, want)
	}
	if len(interleaveRegions(nil, false)) != 0 {
		t.Fatal("no shards must give no shards")
	}
}
