package config

import "slices"

// RegionPolicy is Ocean's selector.regionPolicy: which of an account's
// enabled regions a kind is read in. Empty (or absent) allows every enabled
// region. The rules are Ocean's (AWSDescribeResourcesSelector.is_region_allowed):
//   - a region in Deny is never read, even when Allow lists it too;
//   - a region in Allow is read;
//   - with Deny only, every other region is read;
//   - with Allow only (or both), every other region is not.
//
// "*" in Allow is this exporter's spelling of "every enabled region" (Ocean
// would take it as a region name and read nothing); Validate notes it.
type RegionPolicy struct {
	Allow []string
	Deny  []string
}

// allowAll reports whether Allow names no particular region.
func (p RegionPolicy) allowAll() bool {
	return len(p.Allow) == 0 || slices.Contains(p.Allow, "*")
}

// Allows reports whether the policy lets region be read.
func (p RegionPolicy) Allows(region string) bool {
	switch {
	case slices.Contains(p.Deny, region):
		return false
	case p.allowAll():
		return true
	default:
		return slices.Contains(p.Allow, region)
	}
}

// Regions returns the regions of enabled (an account's enabled regions, in
// their order) that the policy allows: the one rule region discovery applies.
func (p RegionPolicy) Regions(enabled []string) []string {
	out := make([]string, 0, len(enabled))
	for _, r := range enabled {
		if p.Allows(r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Candidates is what the policy reads when the account's enabled regions are
// not known: the regions Allow names (minus those denied), or, when Allow
// names none, the default region unless it is denied. Region discovery
// replaces this with Regions over the account's enabled regions.
func (p RegionPolicy) Candidates(defaultRegion string) []string {
	if p.allowAll() {
		return p.Regions([]string{defaultRegion})
	}
	return p.Regions(p.Allow)
}

// optInRegions are the regions an account must enable before use, which
// Ocean tries last when it reads a global kind (utils/misc.py OPT_IN_REGIONS).
var optInRegions = map[string]bool{
	"af-south-1": true, "ap-east-1": true, "ap-east-2": true, "ap-south-2": true, "ap-southeast-3": true,
	"ap-southeast-4": true, "ap-southeast-5": true, "ap-southeast-6": true, "ap-southeast-7": true,
	"ca-west-1": true, "eu-south-1": true, "eu-south-2": true, "eu-central-2": true, "il-central-1": true,
	"mx-central-1": true, "me-south-1": true, "me-central-1": true,
}

// GlobalFirst orders regions as Ocean does for a global kind: the standard
// regions first, then the opt-in ones, each group in the given order.
func GlobalFirst(regions []string) []string {
	out := make([]string, 0, len(regions))
	for _, r := range regions {
		if !optInRegions[r] {
			out = append(out, r)
		}
	}
	for _, r := range regions {
		if optInRegions[r] {
			out = append(out, r)
		}
	}
	return out
}
