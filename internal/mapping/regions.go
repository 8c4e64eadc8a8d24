package mapping

import (
	"slices"

	"github.com/port-labs/port-aws-exporter/internal/config"
)

// RegionsIn is Regions once an account's enabled regions are known
// (discovered: opt-in regions only when the account enabled them). An
// entry with Ocean's regionPolicy reads the enabled regions the policy
// allows (a kind Ocean reads once per account, the first of them, standard
// regions first); an entry that names its regions, or names none (the
// default region), reads those of them the account has enabled. enabled
// nil (not discovered) is Regions(defaultRegion).
func (r *Resource) RegionsIn(enabled []string, defaultRegion string) []string {
	if enabled == nil {
		return r.Regions(defaultRegion)
	}
	if p := r.compiled.Resource.Selector.AWS.RegionPolicy; p != nil {
		regions := p.Regions(enabled)
		if config.IsOceanGlobal(r.docKind) && len(regions) > 1 {
			regions = config.GlobalFirst(regions)[:1]
		}
		return regions
	}
	var out []string
	for _, region := range r.Regions(defaultRegion) {
		if slices.Contains(enabled, region) {
			out = append(out, region)
		}
	}
	return out
}
