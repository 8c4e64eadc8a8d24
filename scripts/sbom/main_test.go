package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

// The SBOM of this test binary lists exactly the modules its build
// information records, plus the standard library.
func TestSBOMOfARealBinaryListsItsModules(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, exe, "v9.9.9", "2026-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") {
		t.Errorf("header %q %q %q", doc.BOMFormat, doc.SpecVersion, doc.SerialNumber)
	}
	if doc.Metadata.Component.Version != "v9.9.9" || doc.Metadata.Timestamp != "2026-01-01T00:00:00Z" {
		t.Errorf("metadata %+v", doc.Metadata)
	}
	names := map[string]string{}
	for _, c := range doc.Components {
		names[c.Name] = c.Version
	}
	if names["std"] != bi.GoVersion {
		t.Errorf("std component version %q, want %q", names["std"], bi.GoVersion)
	}
	if len(bi.Deps) == 0 {
		t.Skip("this test binary links no module")
	}
	for _, m := range bi.Deps {
		want := m
		if m.Replace != nil {
			want = m.Replace
		}
		if v, ok := names[want.Path]; !ok || v != want.Version {
			t.Errorf("module %s@%s missing (have %q)", want.Path, want.Version, v)
		}
	}
	if len(doc.Components) != len(bi.Deps)+1 {
		t.Errorf("%d components, want %d modules and std", len(doc.Components), len(bi.Deps))
	}
	// Reproducible: the same binary gives the same document.
	var again bytes.Buffer
	if err := run(&again, exe, "v9.9.9", "2026-01-01T00:00:00Z"); err != nil || !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Errorf("a second run differs (err %v)", err)
	}
}

func TestComponents(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "example.com/tool/cmd/tool",
		Main:      debug.Module{Path: "example.com/tool", Version: "v1.0.0"},
		Deps: []*debug.Module{
			{Path: "github.com/BurntSushi/toml", Version: "v1.5.0", Sum: "h1:abc="},
			{Path: "example.com/old", Version: "v2.0.0+incompatible"},
			{Path: "example.com/replaced", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: "h1:def="}},
			{Path: "example.com/local", Version: "v0.0.0", Replace: &debug.Module{Path: "../local"}},
		},
		Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}},
	}
	doc, err := fromBuildInfo(bi, sha256.Sum256([]byte("binary")), "", "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]component{}
	for _, c := range doc.Components {
		byName[c.Name] = c
	}
	cases := []struct{ name, purl string }{
		{"std", "pkg:golang/std@go1.26.8"},
		{"github.com/BurntSushi/toml", "pkg:golang/github.com/BurntSushi/toml@v1.5.0"},
		{"example.com/old", "pkg:golang/example.com/old@v2.0.0+incompatible"},
		{"example.com/fork", "pkg:golang/example.com/fork@v1.0.1"},
		{"../local", ""},
	}
	if len(cases) < 5 {
		t.Fatalf("%d cases, want 5", len(cases))
	}
	for _, c := range cases {
		got, ok := byName[c.name]
		if !ok {
			t.Errorf("no component %s", c.name)
			continue
		}
		if got.PURL != c.purl {
			t.Errorf("%s purl %q, want %q", c.name, got.PURL, c.purl)
		}
	}
	if _, ok := byName["example.com/replaced"]; ok {
		t.Error("a replaced module is listed under its original path")
	}
	if p := byName["example.com/fork"].Properties; len(p) != 2 || p[0].Value != "example.com/replaced@v1.0.0" || p[1].Value != "h1:def=" {
		t.Errorf("replacement properties %+v", p)
	}
	if doc.Metadata.Component.PURL != "pkg:golang/example.com/tool@v1.0.0" || doc.Metadata.Timestamp != "" {
		t.Errorf("main component %+v, timestamp %q", doc.Metadata.Component, doc.Metadata.Timestamp)
	}
	if len(doc.Dependencies) != len(doc.Components)+1 || len(doc.Dependencies[0].DependsOn) != len(doc.Components) {
		t.Errorf("dependencies %+v", doc.Dependencies)
	}
	if _, err := fromBuildInfo(&debug.BuildInfo{}, [32]byte{}, "", ""); err == nil {
		t.Error("build information without a main module accepted")
	}
}
