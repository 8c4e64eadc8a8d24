// Package wire is the format of the catalogue's embedded file (catalog.json.gz):
// what the generator writes and the catalog package reads.
package wire

import "strings"

// Version is the format's version; the catalog package refuses another.
const Version = 1

// File is the whole catalogue.
type File struct {
	Version int     `json:"version"`
	Sources Sources `json:"sources"`
	// Regions are the regions whose type lists the catalogue knows (cfn-lint's
	// per-region provider lists), sorted; Type.NotIn indexes into it.
	Regions    []string    `json:"regions"`
	Partitions []Partition `json:"partitions"`
	Types      []Type      `json:"types"`
}

// Sources names what the catalogue was generated from, with versions.
type Sources struct {
	// CfnLint is the cfn-lint release whose schemas gave the type names, the
	// regions of each type, primary identifiers and tagging.
	CfnLint string `json:"cfnLint"`
	// Registry is where the complete resource provider schemas (with their
	// handlers) came from, and which version.
	Registry string `json:"registry"`
	// Partitions is the aws-sdk-go-v2 module version whose partitions.json gave
	// the region patterns.
	Partitions string `json:"partitions"`
}

// Partition is one AWS partition of the SDK's partitions.json.
type Partition struct {
	ID string `json:"id"`
	// RegionPattern is the SDK's regionRegex, written for both Go and JSON
	// Schema (ECMA-262) regular expressions: \w narrowed to [a-z0-9] (region
	// names are lower case), \d as [0-9], and no escaped hyphens.
	RegionPattern string `json:"regionPattern"`
	// Regions are the partition's named regions (pseudo-regions such as
	// aws-global left out).
	Regions []string `json:"regions"`
}

// Type is one CloudFormation resource type.
type Type struct {
	Name string `json:"name"`
	// CloudControl is true when the type is provisionable through Cloud
	// Control (a public, live type with provisioning type FULLY_MUTABLE or
	// IMMUTABLE, so that its full schema with handlers is in the registry
	// source). False for the non-provisionable types CloudFormation handles
	// itself (e.g. AWS::CodeBuild::Project): Cloud Control refuses them.
	CloudControl bool `json:"cloudControl"`
	ListHandler  bool `json:"listHandler,omitempty"`
	ReadHandler  bool `json:"readHandler,omitempty"`
	// ListPermissions and ReadPermissions are the handlers' permissions as the
	// schema lists them (not filtered: see catalog.ReadOnlyAction).
	ListPermissions []string `json:"listPermissions,omitempty"`
	ReadPermissions []string `json:"readPermissions,omitempty"`
	// PrimaryIdentifier are the property names of the primary identifier.
	PrimaryIdentifier []string `json:"primaryIdentifier,omitempty"`
	// ListRequires are the properties the list handler's schema requires in
	// the ResourceModel (child types listed per parent); ListNeedsModel is also
	// true when the schema requires one of several (anyOf/oneOf).
	ListRequires   []string `json:"listRequires,omitempty"`
	ListNeedsModel bool     `json:"listNeedsModel,omitempty"`
	Taggable       bool     `json:"taggable,omitempty"`
	// Pinned is true when the registry source keeps an old copy of the
	// type's schema (it suppresses updates): its handlers may be out of date.
	Pinned bool `json:"pinned,omitempty"`
	// RegionsUnknown is true for a type cfn-lint does not list (newer than its
	// release): nothing is known of its regions. Otherwise NotIn lists the
	// indexes in File.Regions of the regions that lack it.
	RegionsUnknown bool  `json:"regionsUnknown,omitempty"`
	NotIn          []int `json:"notIn,omitempty"`
}

// RegionPattern is one pattern accepting exactly the regions of every
// partition: the union of their patterns. The catalog package checks regions
// with it, and config's schema.json carries it (the generator writes it there).
func RegionPattern(parts []Partition) string {
	alts := make([]string, 0, len(parts))
	for _, p := range parts {
		alts = append(alts, strings.TrimSuffix(strings.TrimPrefix(p.RegionPattern, "^"), "$"))
	}
	return "^(" + strings.Join(alts, "|") + ")$"
}
