// Package catalog is what the exporter knows of AWS without asking it: every
// CloudFormation resource type, whether Cloud Control can list and read it,
// the IAM permissions of its list and read handlers, its primary identifier,
// the regions that have it, and the region patterns of every AWS partition.
//
// The data is generated (go generate; the generator is ./internal/gen, not
// linked into the product) from AWS's published resource provider schemas
// and the AWS SDK's partitions.json, and embedded gzip'd (catalog.json.gz).
// SOURCES.md says where each fact comes from and how to regenerate;
// Sources gives the versions at run time.
//
// Beside the generated data, small tables kept by hand: the kinds read by a
// reader other than Cloud Control (OtherReader) and the global services whose
// events arrive in one region only (GlobalService).
package catalog

//go:generate go run ./internal/deploygen -repo ../..
//go:generate go run ./internal/gen -registry ${PORT_AWS_EXPORTER_REGISTRY_SCHEMAS} -registry-source ${PORT_AWS_EXPORTER_REGISTRY_SOURCE}

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/wire"
)

//go:embed catalog.json.gz
var embedded []byte

// Type is one CloudFormation resource type.
type Type struct {
	// Name is the type name, e.g. AWS::Lambda::Function.
	Name string
	// CloudControl is true when Cloud Control supports the type at all (it is
	// provisionable through the registry). The types CloudFormation handles
	// itself (e.g. AWS::CodeBuild::Project) are not.
	CloudControl bool
	// List and Read say whether the schema has list and read handlers:
	// Cloud Control's ListResources and GetResource need them.
	List, Read bool
	// ListPermissions and ReadPermissions are the handlers' IAM permissions,
	// as the schema lists them.
	ListPermissions, ReadPermissions []string
	// PrimaryIdentifier are the properties whose values, joined with "|",
	// form the Cloud Control identifier.
	PrimaryIdentifier []string
	// ListRequires are the properties the list handler needs in the
	// ResourceModel (a child type listed per parent, e.g. a listener per load
	// balancer); ListNeedsModel is true whenever the list needs a model.
	ListRequires   []string
	ListNeedsModel bool
	// Taggable is the schema's tagging.taggable.
	Taggable bool
	// Pinned is true when the catalogue's copy of the schema is old (its
	// source suppresses updates): a handler it lacks may exist today.
	Pinned bool

	regionsUnknown bool
	notIn          map[string]bool
}

// listHandlersSincePinned are list handlers that pinned schemas (see
// Type.Pinned) predate. AWS::StepFunctions::StateMachine: the registry
// source keeps its schema of 2022, which has no list handler; state machines
// are listed through Cloud Control today (the rule library's kind syncs by
// listing, and tools generated from the current registry schemas list them).
var listHandlersSincePinned = map[string][]string{
	"AWS::StepFunctions::StateMachine": {"states:ListStateMachines"},
}

// Readable says whether the exporter can read the type through Cloud
// Control: listing for the full sync and reading for events and documents.
func (t Type) Readable() bool { return t.CloudControl && t.List && t.Read }

// WhyUnreadable says, for a type Readable rejects, why; "" when readable.
func (t Type) WhyUnreadable() string {
	switch {
	case !t.CloudControl:
		return "Cloud Control does not support it (CloudFormation manages it without a registry resource provider)"
	case !t.List && !t.Read:
		return "its resource provider has no list and no read handler"
	case !t.List:
		return "its resource provider has no list handler (Cloud Control cannot list it)"
	case !t.Read:
		return "its resource provider has no read handler (Cloud Control cannot read it)"
	}
	return ""
}

// InRegion says whether the type exists in region. known is false when the
// catalogue cannot tell: a type newer than the cfn-lint release the region
// lists come from, or a region cfn-lint does not list.
func (t Type) InRegion(region string) (available, known bool) {
	if t.regionsUnknown || !data().regions[region] {
		return true, false
	}
	return !t.notIn[region], true
}

// Provenance names the catalogue's sources, with versions.
type Provenance struct {
	// CfnLint: type names, regions, identifiers, tagging.
	CfnLint string
	// Registry: the complete schemas, with handlers and their permissions.
	Registry string
	// Partitions: the region pattern of each partition.
	Partitions string
}

// Sources says what the embedded catalogue was generated from.
func Sources() Provenance {
	s := data().file.Sources
	return Provenance{CfnLint: s.CfnLint, Registry: s.Registry, Partitions: partitionsSource}
}

type catalogue struct {
	file    *wire.File
	types   []Type
	byName  map[string]int
	byLower map[string]int
	regions map[string]bool
}

// data is the embedded catalogue, decoded once. It is generated and checked
// by the tests, so a failure to read it is a build defect: panic.
var data = sync.OnceValue(func() *catalogue {
	c, err := decode(embedded)
	if err != nil {
		panic("catalog: embedded catalog.json.gz: " + err.Error())
	}
	return c
})

func decode(gz []byte) (*catalogue, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var f wire.File
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	if f.Version != wire.Version {
		return nil, fmt.Errorf("format version %d, want %d", f.Version, wire.Version)
	}
	c := &catalogue{file: &f, byName: map[string]int{}, byLower: map[string]int{}, regions: map[string]bool{}}
	for _, r := range f.Regions {
		c.regions[r] = true
	}
	for _, wt := range f.Types {
		t := Type{
			Name: wt.Name, CloudControl: wt.CloudControl, List: wt.ListHandler, Read: wt.ReadHandler,
			ListPermissions: wt.ListPermissions, ReadPermissions: wt.ReadPermissions,
			PrimaryIdentifier: wt.PrimaryIdentifier, ListRequires: wt.ListRequires, ListNeedsModel: wt.ListNeedsModel,
			Taggable: wt.Taggable, Pinned: wt.Pinned, regionsUnknown: wt.RegionsUnknown,
		}
		if perms, ok := listHandlersSincePinned[t.Name]; ok && t.Pinned && !t.List {
			t.List, t.ListPermissions = true, perms
		}
		if len(wt.NotIn) > 0 {
			t.notIn = map[string]bool{}
			for _, i := range wt.NotIn {
				if i < 0 || i >= len(f.Regions) {
					return nil, fmt.Errorf("%s: region index %d out of range", wt.Name, i)
				}
				t.notIn[f.Regions[i]] = true
			}
		}
		if _, dup := c.byName[t.Name]; dup {
			return nil, fmt.Errorf("type %s listed twice", t.Name)
		}
		c.byName[t.Name] = len(c.types)
		c.byLower[toLower(t.Name)] = len(c.types)
		c.types = append(c.types, t)
	}
	return c, nil
}

// Lookup returns the type named name (exactly, as Cloud Control wants it).
func Lookup(name string) (Type, bool) {
	c := data()
	i, ok := c.byName[name]
	if !ok {
		return Type{}, false
	}
	return c.types[i], true
}

// Types returns every type, sorted by name.
func Types() []Type { return append([]Type(nil), data().types...) }

// Public says whether a type name is in a namespace AWS publishes (AWS::,
// Alexa::, AMZN::). Other names may be private types registered in an
// account, which the catalogue cannot know.
func Public(name string) bool {
	ns, _, _ := strings.Cut(name, "::")
	switch strings.ToUpper(ns) {
	case "AWS", "ALEXA", "AMZN":
		return true
	}
	return false
}

func toLower(s string) string { return strings.ToLower(s) }
