// Command sbom writes a CycloneDX 1.5 JSON software bill of materials for a
// Go binary from what the Go toolchain recorded in it (the data
// `go version -m` prints): the main module, every module linked in with its
// version and go.sum hash, the Go standard library at the toolchain's
// version, and the build settings. scripts/release.sh runs it once per
// binary; it needs nothing but the standard library.
//
// Usage: go run ./scripts/sbom [-version V] [-timestamp RFC3339] BINARY > BINARY.cdx.json
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

func main() {
	version := flag.String("version", "", "the main module's version (default: the one recorded in the binary)")
	timestamp := flag.String("timestamp", "", "metadata.timestamp, RFC 3339 (default: none, so that the document is reproducible)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: sbom [-version V] [-timestamp T] BINARY")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *version, *timestamp); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, path, version, timestamp string) error {
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: no Go build information: %w", path, err)
	}
	bom, err := fromBuildInfo(bi, sha256.Sum256(bin), version, timestamp)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bom)
}

// The CycloneDX 1.5 fields written (https://cyclonedx.org/docs/1.5/json/).
type (
	document struct {
		BOMFormat    string       `json:"bomFormat"`
		SpecVersion  string       `json:"specVersion"`
		SerialNumber string       `json:"serialNumber"`
		Version      int          `json:"version"`
		Metadata     metadata     `json:"metadata"`
		Components   []component  `json:"components"`
		Dependencies []dependency `json:"dependencies"`
	}
	metadata struct {
		Timestamp string    `json:"timestamp,omitempty"`
		Tools     tools     `json:"tools"`
		Component component `json:"component"`
	}
	tools struct {
		Components []component `json:"components"`
	}
	component struct {
		Type       string     `json:"type"`
		BOMRef     string     `json:"bom-ref,omitempty"`
		Name       string     `json:"name"`
		Version    string     `json:"version,omitempty"`
		PURL       string     `json:"purl,omitempty"`
		Hashes     []hash     `json:"hashes,omitempty"`
		Properties []property `json:"properties,omitempty"`
	}
	hash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	property struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	dependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn,omitempty"`
	}
)

// fromBuildInfo is the document of a binary whose content hashes to sum.
func fromBuildInfo(bi *debug.BuildInfo, sum [32]byte, version, timestamp string) (*document, error) {
	if bi.Main.Path == "" {
		return nil, errors.New("the build information names no main module (built from a file list?)")
	}
	if version == "" {
		version = bi.Main.Version
	}
	main := component{
		Type: "application", Name: bi.Main.Path, Version: version,
		PURL:   purl(bi.Main.Path, version),
		Hashes: []hash{{Alg: "SHA-256", Content: hex.EncodeToString(sum[:])}},
	}
	main.BOMRef = main.PURL
	main.Properties = append(main.Properties, property{"go:path", bi.Path})
	for _, s := range bi.Settings {
		main.Properties = append(main.Properties, property{"go:build:" + s.Key, s.Value})
	}
	std := component{
		Type: "library", Name: "std", Version: bi.GoVersion,
		PURL: purl("std", bi.GoVersion), // how scanners name the Go standard library
	}
	std.BOMRef = std.PURL
	doc := &document{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: serial(sum),
		Metadata: metadata{
			Timestamp: timestamp,
			Tools: tools{Components: []component{{
				Type: "application", Name: "port-aws-exporter scripts/sbom",
			}}},
			Component: main,
		},
		Components: []component{std},
	}
	seen := map[string]bool{std.BOMRef: true}
	for _, m := range bi.Deps {
		c, err := moduleComponent(m)
		if err != nil {
			return nil, err
		}
		if seen[c.BOMRef] {
			continue
		}
		seen[c.BOMRef] = true
		doc.Components = append(doc.Components, c)
	}
	sort.SliceStable(doc.Components[1:], func(i, j int) bool {
		return doc.Components[1+i].BOMRef < doc.Components[1+j].BOMRef
	})
	refs := make([]string, 0, len(doc.Components))
	for _, c := range doc.Components {
		refs = append(refs, c.BOMRef)
	}
	// The build information says which modules are linked in, not which
	// needs which: the main module is recorded as depending on all of them.
	doc.Dependencies = append(doc.Dependencies, dependency{Ref: main.BOMRef, DependsOn: refs})
	for _, r := range refs {
		doc.Dependencies = append(doc.Dependencies, dependency{Ref: r})
	}
	return doc, nil
}

// moduleComponent is one linked module; a replaced module is named by its
// replacement (the code that was built), with the original path kept.
func moduleComponent(m *debug.Module) (component, error) {
	if m.Path == "" {
		return component{}, errors.New("a dependency without a module path")
	}
	used := m
	c := component{Type: "library"}
	if m.Replace != nil {
		used = m.Replace
		c.Properties = append(c.Properties, property{"go:module:replaces", m.Path + "@" + m.Version})
	}
	c.Name, c.Version = used.Path, used.Version
	c.PURL = purl(used.Path, used.Version)
	c.BOMRef = c.PURL
	if used.Version == "" { // a local directory replacement
		c.BOMRef = "local:" + used.Path
		c.PURL = ""
	}
	if used.Sum != "" {
		// Go's h1: hash (a SHA-256 over the module's file list), kept as Go
		// writes it in go.sum rather than passed off as a file hash.
		c.Properties = append(c.Properties, property{"go:module:sum", used.Sum})
	}
	return c, nil
}

// purl is the package URL of a Go module version (pkg:golang/PATH@VERSION).
func purl(path, version string) string {
	segments := strings.Split(path, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segments, "/")
	if version != "" {
		p += "@" + url.PathEscape(version)
	}
	return p
}

// serial is a version-5-shaped UUID URN derived from the binary's hash: the
// same binary always gets the same serial number.
func serial(sum [32]byte) string {
	u := sum[:16]
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	h := hex.EncodeToString(u)
	return fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
