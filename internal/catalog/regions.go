package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/wire"
)

type partition struct {
	id      string
	pattern *regexp.Regexp
	regions []string
}

type partitionTable struct {
	// partitions, the commercial one last: its pattern (us-..., eu-...) is
	// the broadest, so a name another partition claims is that one's, as
	// the SDK's resolver prefers a partition listing the region.
	partitions []partition
	region     *regexp.Regexp
}

// partitions are compiled from partitions_gen.go (generated from the SDK's
// partitions.json), without decoding the catalogue of types: region checks
// sit on the events' hot path and a Lambda's cold start.
var partitions = sync.OnceValue(func() *partitionTable {
	t := &partitionTable{region: regexp.MustCompile(wire.RegionPattern(partitionData))}
	for _, p := range partitionData {
		t.partitions = append(t.partitions, partition{id: p.ID, pattern: regexp.MustCompile(p.RegionPattern), regions: p.Regions})
	}
	sort.SliceStable(t.partitions, func(a, b int) bool { return t.partitions[a].id != "aws" && t.partitions[b].id == "aws" })
	return t
})

// ValidRegion reports whether s is a region name some AWS partition's
// pattern accepts (us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1,
// us-isob-east-1, eu-isoe-west-1, us-isof-south-1, eusc-de-east-1, and
// regions AWS opens later that follow the same patterns). The patterns are
// the AWS SDK's (partitions.json), so "eu-west", "EU-WEST-1" and "" fail.
func ValidRegion(s string) bool { return partitions().region.MatchString(s) }

// RegionPattern is the one regular expression ValidRegion applies (the
// union of the partitions' patterns), valid in Go and in JSON Schema.
func RegionPattern() string { return partitions().region.String() }

// PartitionOf returns the partition of a region (aws, aws-cn, aws-us-gov,
// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc); ok is false for a
// name no partition's pattern accepts.
func PartitionOf(region string) (id string, ok bool) {
	c := partitions()
	for _, p := range c.partitions {
		for _, r := range p.regions {
			if r == region {
				return p.id, true
			}
		}
	}
	for _, p := range c.partitions {
		if p.pattern.MatchString(region) {
			return p.id, true
		}
	}
	return "", false
}

// Partitions returns the partition ids, the commercial one last.
func Partitions() []string {
	var out []string
	for _, p := range partitions().partitions {
		out = append(out, p.id)
	}
	return out
}

// PartitionRegions returns the regions the SDK names for a partition.
func PartitionRegions(id string) []string {
	for _, p := range partitions().partitions {
		if p.id == id {
			return append([]string(nil), p.regions...)
		}
	}
	return nil
}

// PartitionPrefixes maps each partition but the commercial one to the
// literal start of its region names (us-isob-, eusc-, ...): what an
// EventBridge rule's jq, which has no regular expressions in its grammar,
// can test with startswith. Sorted by partition id.
func PartitionPrefixes() [][2]string {
	var out [][2]string
	for _, p := range partitionData {
		if p.ID == "aws" {
			continue
		}
		pat := strings.TrimPrefix(p.RegionPattern, "^")
		end := strings.IndexAny(pat, "[(|.*+?\\")
		if end < 0 {
			end = len(pat)
		}
		out = append(out, [2]string{p.ID, pat[:end]})
	}
	sort.Slice(out, func(a, b int) bool { return out[a][0] < out[b][0] })
	return out
}

// PartitionJQ is a jq expression giving the partition of the region that
// regionExpr yields, by PartitionPrefixes (else aws).
func PartitionJQ(regionExpr string) string {
	var b strings.Builder
	b.WriteString("(" + regionExpr + " | ")
	for i, p := range PartitionPrefixes() {
		if i == 0 {
			b.WriteString("if ")
		} else {
			b.WriteString(" elif ")
		}
		fmt.Fprintf(&b, "startswith(%q) then %q", p[1], p[0])
	}
	b.WriteString(` else "aws" end)`)
	return b.String()
}
