package catalog

// ValidRegion reports whether s is a region name some AWS partition's
// pattern accepts (us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1,
// us-isob-east-1, eu-isoe-west-1, us-isof-south-1, eusc-de-east-1, and
// regions AWS opens later that follow the same patterns). The patterns are
// the AWS SDK's (partitions.json), so "eu-west", "EU-WEST-1" and "" fail.
func ValidRegion(s string) bool { return data().region.MatchString(s) }

// RegionPattern is the one regular expression ValidRegion applies (the
// union of the partitions' patterns), valid in Go and in JSON Schema.
func RegionPattern() string { return data().region.String() }

// PartitionOf returns the partition of a region (aws, aws-cn, aws-us-gov,
// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc); ok is false for a
// name no partition's pattern accepts.
func PartitionOf(region string) (id string, ok bool) {
	c := data()
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
	for _, p := range data().partitions {
		out = append(out, p.id)
	}
	return out
}

// PartitionRegions returns the regions the SDK names for a partition.
func PartitionRegions(id string) []string {
	for _, p := range data().partitions {
		if p.id == id {
			return append([]string(nil), p.regions...)
		}
	}
	return nil
}
