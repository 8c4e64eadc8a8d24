// Package build makes the catalogue (wire.File) from its sources: cfn-lint's
// schema data, a directory of complete CloudFormation resource provider
// schemas (with handlers), and the AWS SDK's partitions.json. The generator
// (../gen) and the catalogue's keep-in-step test both call it, so that the
// two can never disagree about how a source is read.
package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/wire"
)

// Options names the sources.
type Options struct {
	// CfnLintDir is cfn-lint's package directory (the one holding version.py
	// and data/schemas).
	CfnLintDir string
	// RegistryDir holds complete resource provider schemas, one JSON file per
	// type, in any file names. Empty: build only what cfn-lint gives
	// (CfnLintLayer).
	RegistryDir string
	// RegistrySource says what RegistryDir is and its version, for the record.
	RegistrySource string
	// PinnedFile lists the types whose schema the registry source keeps at
	// an old version: terraform-provider-awscc's all_schemas.hcl, whose
	// blocks say "Latest schema updates are suppressed". Empty: that file
	// beside RegistryDir (../../../provider/all_schemas.hcl), if present.
	PinnedFile string
	// SDKDir is the aws-sdk-go-v2 module directory; SDKVersion its version.
	SDKDir, SDKVersion string
}

// PartitionsFile is where partitions.json sits in the aws-sdk-go-v2 module.
const PartitionsFile = "internal/endpoints/awsrulesfn/partitions.json"

// Build reads every source and returns the catalogue, types sorted by name.
func Build(opts Options) (*wire.File, error) {
	if opts.RegistryDir == "" || opts.RegistrySource == "" {
		return nil, errors.New("build: the registry schemas directory and its source description are both needed")
	}
	f, err := CfnLintLayer(opts.CfnLintDir)
	if err != nil {
		return nil, err
	}
	reg, err := readRegistry(opts.RegistryDir)
	if err != nil {
		return nil, err
	}
	f.Sources.Registry = opts.RegistrySource
	pinned, err := readPinned(opts.PinnedFile, opts.RegistryDir)
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, t := range f.Types {
		byName[t.Name] = i
	}
	for name, s := range reg {
		i, ok := byName[name]
		if !ok {
			// Newer than the cfn-lint release: regions unknown.
			f.Types = append(f.Types, wire.Type{Name: name, RegionsUnknown: true})
			i = len(f.Types) - 1
			byName[name] = i
		}
		t := &f.Types[i]
		t.CloudControl = true
		if h, ok := s.Handlers["list"]; ok {
			t.ListHandler = true
			t.ListPermissions = h.Permissions
			t.ListRequires, t.ListNeedsModel = h.modelNeeds()
		}
		if h, ok := s.Handlers["read"]; ok {
			t.ReadHandler = true
			t.ReadPermissions = h.Permissions
		}
		// The registry's schema is the one Cloud Control runs: its identifier wins.
		if ids := propertyNames(s.PrimaryIdentifier); len(ids) > 0 {
			t.PrimaryIdentifier = ids
		}
		if s.Tagging != nil {
			t.Taggable = s.Tagging.Taggable
		}
		t.Pinned = pinned[name]
	}
	sort.Slice(f.Types, func(a, b int) bool { return f.Types[a].Name < f.Types[b].Name })
	f.Sources.Partitions = "github.com/aws/aws-sdk-go-v2 " + opts.SDKVersion + " " + PartitionsFile
	if f.Partitions, err = Partitions(opts.SDKDir); err != nil {
		return nil, err
	}
	return f, nil
}

// Partitions reads the partitions of the aws-sdk-go-v2 module in sdkDir.
func Partitions(sdkDir string) ([]wire.Partition, error) {
	return readPartitions(filepath.Join(sdkDir, filepath.FromSlash(PartitionsFile)))
}

// CfnLintLayer is what cfn-lint alone gives: every type with its regions,
// primary identifier and tagging; no handlers, no partitions.
func CfnLintLayer(dir string) (*wire.File, error) {
	version, err := cfnLintVersion(dir)
	if err != nil {
		return nil, err
	}
	providers := filepath.Join(dir, "data", "schemas", "providers")
	files, err := filepath.Glob(filepath.Join(providers, "*.py"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("build: no per-region provider lists in %s", providers)
	}
	regionTypes := map[string]map[string]string{} // region -> type -> schema file hash
	for _, file := range files {
		region := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".py"), "_", "-")
		if region == "--init--" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		types := map[string]string{}
		for _, m := range providerEntry.FindAllSubmatch(data, -1) {
			types[string(m[1])] = string(m[2])
		}
		if len(types) == 0 {
			return nil, fmt.Errorf("build: %s lists no types (has cfn-lint's format changed?)", file)
		}
		regionTypes[region] = types
	}
	// cfn-lint ships us-east-1's list for the regions whose lists it cannot
	// fetch (the ISO partitions, the European Sovereign Cloud): a copy says
	// nothing about the region, so the region is left out (InRegion: unknown).
	if east, ok := regionTypes["us-east-1"]; ok {
		for r, types := range regionTypes {
			if r != "us-east-1" && maps.Equal(types, east) {
				delete(regionTypes, r)
			}
		}
	}
	f := &wire.File{Version: wire.Version, Sources: wire.Sources{CfnLint: "cfn-lint " + version}}
	for r := range regionTypes {
		f.Regions = append(f.Regions, r)
	}
	sort.Strings(f.Regions)
	hashOf := map[string]string{}
	for _, r := range f.Regions {
		for t, h := range regionTypes[r] {
			// Prefer us-east-1's schema; any region's will do for a type it lacks.
			if _, ok := hashOf[t]; !ok || r == "us-east-1" {
				hashOf[t] = h
			}
		}
	}
	names := make([]string, 0, len(hashOf))
	for t := range hashOf {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, name := range names {
		t := wire.Type{Name: name}
		for i, r := range f.Regions {
			if _, ok := regionTypes[r][name]; !ok {
				t.NotIn = append(t.NotIn, i)
			}
		}
		var s schema
		if err := readJSON(filepath.Join(dir, "data", "schemas", "resources", hashOf[name]+".json"), &s); err != nil {
			return nil, err
		}
		if s.TypeName != "" && s.TypeName != name {
			return nil, fmt.Errorf("build: cfn-lint's schema %s.json is %s, listed as %s", hashOf[name], s.TypeName, name)
		}
		t.PrimaryIdentifier = propertyNames(s.PrimaryIdentifier)
		if s.Tagging != nil {
			t.Taggable = s.Tagging.Taggable
		}
		f.Types = append(f.Types, t)
	}
	return f, nil
}

// providerEntry is one line of cfn-lint's providers/<region>.py:
// "AWS::Lambda::Function": "<schema file hash>",
var providerEntry = regexp.MustCompile(`"([A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+(?:::[A-Za-z0-9]+)?)":\s*"([0-9a-f]+)"`)

var versionLine = regexp.MustCompile(`__version__\s*=\s*"([^"]+)"`)

func cfnLintVersion(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "version.py"))
	if err != nil {
		return "", fmt.Errorf("build: cfn-lint version: %w", err)
	}
	m := versionLine.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("build: no __version__ in %s", filepath.Join(dir, "version.py"))
	}
	return string(m[1]), nil
}

// schema is the part of a resource provider schema the catalogue keeps.
type schema struct {
	TypeName          string             `json:"typeName"`
	PrimaryIdentifier []string           `json:"primaryIdentifier"`
	Handlers          map[string]handler `json:"handlers"`
	Tagging           *struct {
		Taggable bool `json:"taggable"`
	} `json:"tagging"`
}

type handler struct {
	Permissions   []string `json:"permissions"`
	HandlerSchema *struct {
		Required []string          `json:"required"`
		AnyOf    []json.RawMessage `json:"anyOf"`
		OneOf    []json.RawMessage `json:"oneOf"`
		AllOf    []json.RawMessage `json:"allOf"`
	} `json:"handlerSchema"`
}

// modelNeeds says what a list handler's schema asks of the ResourceModel:
// the properties it requires, and whether it needs one at all (a required
// property, or a choice between several).
func (h handler) modelNeeds() ([]string, bool) {
	hs := h.HandlerSchema
	if hs == nil {
		return nil, false
	}
	req := propertyNames(hs.Required)
	return req, len(req) > 0 || len(hs.AnyOf) > 0 || len(hs.OneOf) > 0 || len(hs.AllOf) > 0
}

// propertyNames turns /properties/Name pointers (or bare names) into names.
func propertyNames(ptrs []string) []string {
	var out []string
	for _, p := range ptrs {
		out = append(out, strings.TrimPrefix(p, "/properties/"))
	}
	return out
}

func readRegistry(dir string) (map[string]schema, error) {
	out := map[string]schema{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		var s schema
		if err := readJSON(path, &s); err != nil {
			return err
		}
		if s.TypeName == "" {
			return nil // a meta-schema or another file: not a resource type
		}
		if _, dup := out[s.TypeName]; dup {
			return fmt.Errorf("build: %s: type %s is in two files of %s", path, s.TypeName, dir)
		}
		out[s.TypeName] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build: registry schemas: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("build: no resource provider schemas in %s", dir)
	}
	return out, nil
}

// readPartitions reads the SDK's partitions.json.
func readPartitions(path string) ([]wire.Partition, error) {
	var doc struct {
		Partitions []struct {
			ID          string                     `json:"id"`
			RegionRegex string                     `json:"regionRegex"`
			Regions     map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := readJSON(path, &doc); err != nil {
		return nil, err
	}
	var out []wire.Partition
	for _, p := range doc.Partitions {
		pattern, err := portablePattern(p.RegionRegex)
		if err != nil {
			return nil, fmt.Errorf("build: partition %s: %w", p.ID, err)
		}
		wp := wire.Partition{ID: p.ID, RegionPattern: pattern}
		re := regexp.MustCompile(pattern)
		for r := range p.Regions {
			if re.MatchString(r) { // aws-global and the like are not regions
				wp.Regions = append(wp.Regions, r)
			}
		}
		sort.Strings(wp.Regions)
		out = append(out, wp)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("build: %s has no partitions", path)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// portablePattern rewrites the SDK's regionRegex so that Go and JSON Schema
// (ECMA-262, where \- is an error in unicode mode) read it the same way, and
// only lower-case names pass: \w becomes [a-z0-9], \d [0-9], \- a plain -.
func portablePattern(sdk string) (string, error) {
	p := strings.NewReplacer(`\w`, `[a-z0-9]`, `\d`, `[0-9]`, `\-`, `-`).Replace(sdk)
	if strings.Contains(p, `\`) {
		return "", fmt.Errorf("regionRegex %q has an escape this generator does not translate", sdk)
	}
	if !strings.HasPrefix(p, "^") || !strings.HasSuffix(p, "$") {
		return "", fmt.Errorf("regionRegex %q is not anchored", sdk)
	}
	if _, err := regexp.Compile(p); err != nil {
		return "", err
	}
	return p, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("build: %s: %w", path, err)
	}
	return nil
}

// DefaultPython is the interpreter whose cfn-lint the tests use elsewhere in
// the repository (PORT_AWS_EXPORTER_CFNLINT_PYTHON overrides it).
const DefaultPython = "/root/.pyenv/versions/3.11.7/bin/python"

// FindCfnLint returns the package directory of the cfn-lint that python
// imports.
func FindCfnLint(python string) (string, error) {
	out, err := exec.Command(python, "-c", "import os, cfnlint; print(os.path.dirname(cfnlint.__file__))").Output()
	if err != nil {
		return "", fmt.Errorf("build: %s cannot import cfnlint: %w", python, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// FindSDK returns the directory and version of the aws-sdk-go-v2 module this
// repository builds with.
func FindSDK() (dir, version string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		return "", "", fmt.Errorf("build: go list -m github.com/aws/aws-sdk-go-v2: %w", err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || dir == "" {
		return "", "", fmt.Errorf("build: go list -m github.com/aws/aws-sdk-go-v2 said %q", out)
	}
	return dir, version, nil
}

// Python is the interpreter to find cfn-lint with.
func Python() string {
	if p := os.Getenv("PORT_AWS_EXPORTER_CFNLINT_PYTHON"); p != "" {
		return p
	}
	return DefaultPython
}

// pinnedBlock finds, in all_schemas.hcl, a type whose block says its schema
// updates are suppressed (the cached schema is kept at an old version).
var pinnedBlock = regexp.MustCompile(`cloudformation_type_name\s*=\s*"([^"]+)"[^}]*?Latest schema updates are suppressed`)

func readPinned(file, registryDir string) (map[string]bool, error) {
	if file == "" {
		file = filepath.Join(registryDir, "..", "..", "..", "provider", "all_schemas.hcl")
		if _, err := os.Stat(file); err != nil {
			return nil, nil
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("build: pinned types: %w", err)
	}
	out := map[string]bool{}
	for _, m := range pinnedBlock.FindAllSubmatch(data, -1) {
		out[string(m[1])] = true
	}
	return out, nil
}
