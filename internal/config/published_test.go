package config

import (
	"path/filepath"
	"slices"
	"testing"
)

// publishedWarnings are the warnings expected for published configs; every
// other published config must load without any.
var publishedWarnings = map[string][]string{
	// Port's EKS config puts relations beside mappings, where Port's
	// exporter ignored them (no relation was ever sent); so do we, but say so.
	"docs-examples-14-eks_cluster.json": {"resources[0].port.entity.relations: ignored: relations belongs inside each entry of mappings"},
	"template-assets-eks_cluster.json":  {"resources[0].port.entity.relations: ignored: relations belongs inside each entry of mappings"},
}

// TestPublishedConfigs loads every config.json Port published for its AWS
// exporter (testdata/published, sources in SOURCES.md): each must load with
// no problem and only the expected warnings, and compile.
func TestPublishedConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/published/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("found %d published configs, expected at least 30", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg, err := Load(t.Context(), file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Resources) == 0 {
				t.Fatal("no resources read")
			}
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.String())
			}
			if want := publishedWarnings[filepath.Base(file)]; !slices.Equal(got, want) {
				t.Errorf("warnings = %q, want %q", got, want)
			}
			compiled, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range compiled.Resources {
				for _, m := range r.Mappings {
					if m.Identifier == nil || (m.Blueprint.Name == "" && m.Blueprint.Query == nil) {
						t.Errorf("%s: identifier or blueprint not compiled", m.Path)
					}
				}
			}
		})
	}
}
