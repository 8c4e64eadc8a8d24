package mapping

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// roundTrip converts cfg to the other dialect and back, parsing each result
// as a user would load it, and returns the two configs, and whether either
// conversion said it could not convert exactly.
func roundTrip(t *testing.T, cfg *config.Config) (there, back *config.Config, inexact bool) {
	t.Helper()
	to, from := config.ToOcean, config.ToExporter
	thereDialect := config.DialectOcean
	if cfg.Dialect == config.DialectOcean {
		to, from = config.ToExporter, config.ToOcean
		thereDialect = config.DialectExporter
	}
	conv, err := to(cfg)
	if err != nil {
		t.Fatal(err)
	}
	format := config.YAML // JSON is YAML too
	if there, err = config.Parse(conv.Data, format); err != nil {
		t.Fatalf("converted config does not parse: %v\n%s", err, conv.Data)
	}
	if there.Dialect != thereDialect {
		t.Fatalf("converted config read as %v:\n%s", there.Dialect, conv.Data)
	}
	if p := config.Validate(there); len(p) > 0 {
		t.Fatalf("converted config has problems %v:\n%s", p, conv.Data)
	}
	conv2, err := from(there)
	if err != nil {
		t.Fatal(err)
	}
	inexact = len(conv.Problems)+len(conv2.Problems) > 0
	if back, err = config.Parse(conv2.Data, format); err != nil {
		t.Fatalf("config converted back does not parse: %v\n%s", err, conv2.Data)
	}
	if back.Dialect != cfg.Dialect {
		t.Fatalf("config converted back read as %v:\n%s", back.Dialect, conv2.Data)
	}
	if p := config.Validate(back); len(p) > 0 {
		t.Fatalf("config converted back has problems %v:\n%s", p, conv2.Data)
	}
	return there, back, inexact
}

// produce maps res through every entry of m for its kind, as the
// controller does: the entities, in order, or the error.
func produce(t *testing.T, m *Mapper, res source.Resource) (string, bool) {
	t.Helper()
	var ents []any
	for _, r := range m.ForKind(res.Kind) {
		got, err := r.Map(t.Context(), res)
		if err != nil {
			return "error: " + err.Error(), false
		}
		for _, e := range got.Entities {
			ents = append(ents, e)
		}
	}
	return canonical(t, ents), true
}

func mustCompile(t *testing.T, cfg *config.Config) *Mapper {
	t.Helper()
	m, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// equivalent checks that the three configs give the same entities from
// each resource. Under config.json's rules a failed field fails the entity
// where Ocean's sends null, so a resource the original cannot map is not
// compared (config convert notes the difference).
func equivalent(t *testing.T, name string, a, b, c *config.Config, resources []source.Resource) int {
	t.Helper()
	ma, mb, mc := mustCompile(t, a), mustCompile(t, b), mustCompile(t, c)
	compared := 0
	for _, res := range resources {
		want, ok := produce(t, ma, res)
		if !ok {
			continue
		}
		if got, _ := produce(t, mb, res); got != want {
			t.Errorf("%s, resource %s (%s): converted config gives\n%s\nwant\n%s", name, res.Identifier, res.Kind, got, want)
		}
		if got, _ := produce(t, mc, res); got != want {
			t.Errorf("%s, resource %s (%s): config converted back gives\n%s\nwant\n%s", name, res.Identifier, res.Kind, got, want)
		}
		compared++
	}
	return compared
}

// fixtureResources are the resources of a Cloud Control emulator fixture.
func fixtureResources(t *testing.T, f *cloudcontrol.Fixture) []source.Resource {
	t.Helper()
	var out []source.Resource
	for _, r := range f.Resources {
		raw, _ := json.Marshal(r.Properties)
		out = append(out, source.Resource{AccountID: f.AccountID, Region: r.Region, Kind: r.Type, Identifier: r.Identifier,
			Properties: decodeLikeSource(t, raw)})
	}
	return out
}

// Every mapping case (published configs of Port's exporter and Ocean's rule
// cases) converts to the other format and back into configs that give the
// same entities from the case's resource.
func TestConvertRoundTripCases(t *testing.T) {
	compared, skipped := 0, 0
	for _, file := range []string{"testdata/cases.yaml", "testdata/ocean-cases.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cases []mappingCase
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			cfg, err := config.Parse(tc.Config, config.JSON)
			if err != nil || len(config.Validate(cfg)) > 0 {
				continue // a case about a config problem
			}
			there, back, inexact := roundTrip(t, cfg)
			if inexact {
				skipped++
				continue // what cannot be converted is reported, not pretended
			}
			res := source.Resource{AccountID: tc.Resource.AccountID, Region: tc.Resource.Region, Kind: tc.Resource.Kind,
				Identifier: tc.Resource.Identifier, Properties: decodeLikeSource(t, tc.Resource.Properties)}
			compared += equivalent(t, file+": "+tc.Name, cfg, there, back, []source.Resource{res})
		}
	}
	// Ocean's items (a selector that sees the item, itemsToParseName, the
	// top-level transform) have no config.json equivalent: the 6 Ocean item
	// cases say so.
	if compared < 25 || skipped != 6 {
		t.Fatalf("compared %d resources (want at least 25), %d cases not converted exactly (want 6)", compared, skipped)
	}
}

// Port's published configs (both formats) round-trip over the resources of
// the demo and Ocean fixtures.
func TestConvertRoundTripPublished(t *testing.T) {
	demo, err := cloudcontrol.DemoFixture()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../exporter/testdata/ocean-resources.json")
	if err != nil {
		t.Fatal(err)
	}
	oceanFixture, err := cloudcontrol.ParseFixture(raw)
	if err != nil {
		t.Fatal(err)
	}
	resources := append(fixtureResources(t, demo), fixtureResources(t, oceanFixture)...)
	files, _ := filepath.Glob("../config/testdata/published/*.json")
	oceanFiles, _ := filepath.Glob("../config/testdata/ocean/*.yml")
	files = append(files, oceanFiles...)
	if len(files) < 40 {
		t.Fatalf("%d configs, want at least 40", len(files))
	}
	compared := 0
	for _, file := range files {
		cfg, err := config.Load(t.Context(), file, nil)
		if err != nil {
			t.Fatal(err)
		}
		there, back, inexact := roundTrip(t, cfg)
		if inexact {
			t.Errorf("%s: published config not converted exactly", file)
		}
		compared += equivalent(t, filepath.Base(file), cfg, there, back, resources)
	}
	if compared < 60 {
		t.Fatalf("compared %d resource mappings, want at least 60", compared)
	}
}
