package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/suggest"
)

// CheckCatalog checks a config against what AWS publishes (the embedded
// catalogue of CloudFormation types, internal/catalog), beside Validate's
// checks of the document itself:
//
//   - a kind AWS does not publish is a problem, with the nearest names
//     (AWS::Lambda::Functon → did you mean "AWS::Lambda::Function"?); a
//     kind outside AWS's namespaces (a private registry type) is a warning;
//   - a kind Cloud Control cannot list or read, and no other reader of this
//     exporter reads (catalog.OtherReader), is a problem saying why;
//   - a child kind whose listing needs a resource model naming its parent,
//     with no resources_models at all, is a problem;
//   - a kind the catalogue knows to be absent from a configured region is a
//     warning.
//
// It is kept apart from Validate on purpose: the catalogue is a snapshot,
// and a type AWS adds after it must not stop a sync; `config validate`
// reports these, `sync` does not refuse them.
func CheckCatalog(cfg *Config) (problems, warnings []Problem) {
	for i := range cfg.Resources {
		p, w := checkKind(ResourcePath(i), &cfg.Resources[i])
		problems = append(problems, p...)
		warnings = append(warnings, w...)
		warnings = append(warnings, checkRegionsKnown(ResourcePath(i), &cfg.Resources[i])...)
	}
	return problems, warnings
}

// checkRegionsKnown warns of a region that has the form of its partition's
// names but that the SDK does not name (eu-wset-1): a typo, most often, and
// otherwise a region newer than this build. A warning, not an error: AWS
// opens regions after a release, and the exporter must not refuse them.
func checkRegionsKnown(path string, r *Resource) (warnings []Problem) {
	for j, region := range r.Selector.AWS.Regions {
		partition, ok := catalog.PartitionOf(region)
		if !ok {
			continue // not a region name at all: the schema's problem
		}
		known := catalog.PartitionRegions(partition)
		if len(known) == 0 || slices.Contains(known, region) {
			continue
		}
		msg := fmt.Sprintf("%q is not a region the AWS SDK of this build names in partition %s", region, partition)
		if hint := suggest.Phrase(suggest.Closest(region, known, 2)); hint != "" {
			msg += "; " + hint
		} else {
			msg += " (a region newer than this build is fine)"
		}
		warnings = append(warnings, Problem{Path: Index(path+".selector.aws.regions", j), Message: msg})
	}
	return warnings
}

func checkKind(path string, r *Resource) (problems, warnings []Problem) {
	kindPath := path + ".kind"
	kind := r.Kind
	if strings.TrimSpace(kind) == "" {
		return nil, nil // the schema's problem
	}
	problem := func(format string, args ...any) {
		problems = append(problems, Problem{Path: kindPath, Message: fmt.Sprintf(format, args...)})
	}
	warn := func(p, format string, args ...any) {
		warnings = append(warnings, Problem{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	src := catalog.Sources().CfnLint
	t, known := catalog.Lookup(kind)
	_, other := catalog.OtherReader(kind)
	switch {
	case other:
		// Read by another reader; nothing more the catalogue can say.
	case !known && !catalog.Public(kind):
		warn(kindPath, "%q is not a public AWS type; Cloud Control reads it only if it is registered in the account as a private type", kind)
		return nil, warnings
	case !known:
		msg := fmt.Sprintf("%q is not a CloudFormation resource type (catalogue of %s)", kind, src)
		if hint := suggest.Phrase(catalog.Suggest(kind)); hint != "" {
			msg += "; " + hint
		} else {
			msg += "; port-aws-exporter kinds list --all shows the known types"
		}
		problem("%s", msg)
		return problems, nil
	case !t.Readable() && t.Pinned:
		warn(kindPath, "%s may not be readable: %s, in the catalogue's old copy of its schema", kind, t.WhyUnreadable())
	case !t.Readable():
		problem("the exporter cannot read %s: %s, and no other reader of this exporter reads it (the describe reader reads %s)",
			kind, t.WhyUnreadable(), strings.Join(describeKinds(), ", "))
		return problems, nil
	}
	if !known {
		return problems, warnings
	}
	if t.ListNeedsModel && !hasResourceModels(r) {
		need := "its parent"
		if len(t.ListRequires) > 0 {
			need = strings.Join(t.ListRequires, ", ")
		}
		problem("Cloud Control lists %s per parent: set selector.aws.regions_config.<region>.resources_models to models naming %s, e.g. [\"{\\\"%s\\\": \\\"...\\\"}\"]",
			kind, need, firstOr(t.ListRequires, "ParentArn"))
	}
	if g, ok := catalog.GlobalService(kind); ok && !onlyRegion(r.Selector.AWS.Regions, g.EventRegion) && inCommercialPartition(r.Selector.AWS.Regions) {
		warn(path+".selector.aws.regions", "%s is global: its events arrive in %s and name that region, so they reach only a %s shard, and every region lists the same resources; set regions to [%q]",
			kind, g.EventRegion, g.EventRegion, g.EventRegion)
	}
	for j, region := range r.Selector.AWS.Regions {
		if ok, sure := t.InRegion(region); sure && !ok {
			warn(Index(path+".selector.aws.regions", j), "%s is not available in %s (region lists of %s)", kind, region, src)
		}
	}
	return problems, warnings
}

func onlyRegion(regions []string, region string) bool {
	return len(regions) == 1 && regions[0] == region
}

// inCommercialPartition: the global services' event regions are the aws
// partition's; another partition has its own (and no warning here).
func inCommercialPartition(regions []string) bool {
	for _, r := range regions {
		if p, ok := catalog.PartitionOf(r); ok && p != "aws" {
			return false
		}
	}
	return true
}

func hasResourceModels(r *Resource) bool {
	for _, rc := range r.Selector.AWS.RegionsConfig {
		if len(rc.ResourcesModels) > 0 {
			return true
		}
	}
	return false
}

func describeKinds() []string {
	var out []string
	for _, k := range catalog.OtherReaderKinds() {
		if r, _ := catalog.OtherReader(k); r.Name == "describe" {
			out = append(out, k)
		}
	}
	return out
}

func firstOr(list []string, fallback string) string {
	if len(list) > 0 {
		return list[0]
	}
	return fallback
}

// unknownKeyHint is the did-you-mean of an unknown key: the known keys of
// that object nearest to it ("identifer" → "identifier").
func unknownKeyHint(key string, known *node) string {
	if known == nil {
		return ""
	}
	names := make([]string, 0, len(known.members))
	for _, m := range known.members {
		names = append(names, m.key)
	}
	return suggest.Phrase(suggest.Closest(key, names, 3))
}
