package config

import (
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

type catalogCase struct {
	Name     string   `json:"name"`
	JSON     string   `json:"json"`
	Problems []string `json:"problems"`
	Warnings []string `json:"warnings"`
}

func TestCheckCatalog(t *testing.T) {
	cases := readCases[catalogCase](t, "testdata/catalog.yaml")
	if len(cases) < 12 {
		t.Fatalf("testdata/catalog.yaml has %d cases, want at least 12", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.JSON), JSON)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			problems, warnings := CheckCatalog(cfg)
			matchAll(t, "problem", problems, tc.Problems)
			matchAll(t, "warning", warnings, tc.Warnings)
		})
	}
}

// schema.json's region pattern is the catalogue's (the generator writes it):
// the schema, ValidRegion and the events' region check accept the same names.
func TestSchemaRegionPatternIsTheCatalogues(t *testing.T) {
	got := loadSchema().pointer("/$defs/region/pattern").str
	if want := catalog.RegionPattern(); got != want {
		t.Fatalf("schema.json $defs/region/pattern is\n  %s\nthe catalogue's (the SDK's partitions) is\n  %s\nrun go generate in internal/catalog", got, want)
	}
	for _, r := range []string{"eusc-de-east-1", "us-isof-east-1", "us-east-1"} {
		if !ValidRegion(r) {
			t.Errorf("ValidRegion(%q) = false", r)
		}
	}
}
