package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// oceanLambdaConfig is dispatchtest's Lambda entry in Ocean's format: the
// same entities from the same functions.
const oceanLambdaConfig = `resources:
  - kind: AWS::Lambda::Function
    selector:
      query: '[.Properties.Tags[]? | select(.Key == "port-skip")] | length == 0'
      regionPolicy: {allow: [eu-west-1, us-east-1]}
    port:
      entity:
        mappings:
          identifier: .Identifier
          title: .Properties.FunctionName
          blueprint: '"lambda"'
          properties:
            memorySize: .Properties.MemorySize
            runtime: .Properties.Runtime
`

func TestConfigValidateNamesTheFormat(t *testing.T) {
	ocean := writeFile(t, "port-app-config.yml", oceanLambdaConfig)
	out, err := runCLI(t, "config", "validate", "--config", ocean)
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	for _, want := range []string{
		"format: Ocean's port-app-config.yml (Port's Ocean AWS integration) (detected from resources[0].selector.regionPolicy)",
		"note: resources[0].selector: useGetResourceAPI not set",
		"note: deleteDependentEntities: not set",
		"valid (1 resources, 1 kinds)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	exporterConfig := writeFile(t, "config.yaml", string(dispatchtest.ConfigYAML()))
	out, err = runCLI(t, "config", "validate", "--config", exporterConfig)
	if err != nil || !strings.Contains(out, "format: config.json (Port's AWS exporter)\n") || strings.Contains(out, "note:") {
		t.Fatalf("validate config.json: %v\n%s", err, out)
	}
	// Where Ocean's format cannot be matched, validate says so with the path.
	bad := writeFile(t, "bad.yml", strings.Replace(oceanLambdaConfig, "identifier: .Identifier", "identifier: {combinator: and, rules: []}", 1))
	out, err = runCLI(t, "config", "validate", "--config", bad)
	if exitCode(err) != 1 || !strings.Contains(out, "resources[0].port.entity.mappings.identifier: a search identifier") {
		t.Fatalf("validate of a search identifier: %v\n%s", err, out)
	}
}

// config convert writes each format from the other, and the rule library's
// defaults for a config's kinds; what it cannot convert exactly is listed
// and exits 1 with the output still written.
func TestConfigConvertCommand(t *testing.T) {
	dir := t.TempDir()
	exporterConfig := writeFile(t, "config.yaml", string(dispatchtest.ConfigYAML()))
	oceanOut := filepath.Join(dir, "port-app-config.yml")
	out, err := runCLI(t, "config", "convert", "--config", exporterConfig, "--to", "ocean", "--out-file", oceanOut)
	if err != nil {
		t.Fatalf("convert to ocean: %v\n%s", err, out)
	}
	cfg, err := config.Load(t.Context(), oceanOut, nil)
	if err != nil || cfg.Dialect != config.DialectOcean || len(config.Validate(cfg)) > 0 || len(cfg.Resources) != 2 {
		t.Fatalf("written port-app-config: %v, %+v", err, cfg)
	}
	if got := cfg.Resources[0].Selector.AWS.RegionPolicy; got == nil || !slices.Equal(got.Allow, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("regions became %+v, want regionPolicy.allow [eu-west-1 us-east-1]", got)
	}
	if !strings.Contains(out, "read as config.json") || !strings.Contains(out, "note: resources: under Ocean's rules") {
		t.Errorf("convert output:\n%s", out)
	}

	back := filepath.Join(dir, "config.json")
	if out, err = runCLI(t, "config", "convert", "--config", oceanOut, "--to", "exporter", "--out-file", back); err != nil {
		t.Fatalf("convert back: %v\n%s", err, out)
	}
	cfg, err = config.Load(t.Context(), back, nil)
	if err != nil || cfg.Dialect != config.DialectExporter || len(config.Validate(cfg)) > 0 ||
		!slices.Equal(cfg.Resources[0].Selector.AWS.Regions, []string{"eu-west-1", "us-east-1"}) || cfg.Resources[0].Selector.AWS.Document != config.DocumentOcean {
		t.Fatalf("config converted back: %v, %+v", err, cfg)
	}

	// A deny-only region policy cannot be said in config.json: listed, exit 1, written.
	denyOnly := writeFile(t, "deny.yml", strings.Replace(oceanLambdaConfig, "{allow: [eu-west-1, us-east-1]}", "{deny: [eu-west-1]}", 1))
	lossy := filepath.Join(dir, "lossy.json")
	out, err = runCLI(t, "config", "convert", "--config", denyOnly, "--to", "exporter", "--out-file", lossy)
	if exitCode(err) != 1 || !strings.Contains(out, "not converted exactly: resources[0].selector.regionPolicy.deny:") {
		t.Fatalf("lossy convert: %v\n%s", err, out)
	}
	if _, statErr := os.Stat(lossy); statErr != nil {
		t.Fatalf("lossy convert wrote nothing: %v", statErr)
	}

	// The rule library's defaults for the kinds, and their blueprints.
	libOut, bps := filepath.Join(dir, "library.json"), filepath.Join(dir, "blueprints.json")
	out, err = runCLI(t, "config", "convert", "--config", oceanOut, "--to", "library", "--out-file", libOut, "--blueprints", bps)
	if err != nil {
		t.Fatalf("convert to library: %v\n%s", err, out)
	}
	lib, err := config.Load(t.Context(), libOut, nil)
	if err != nil || len(config.Validate(lib)) > 0 || len(lib.Resources) != 2 {
		t.Fatalf("library config: %v, %+v", err, lib)
	}
	if !strings.Contains(out, "rules generate --kinds lambda-function,s3-bucket") || !strings.Contains(out, "docs/migrate.md") {
		t.Errorf("library output:\n%s", out)
	}
	if data, err := os.ReadFile(bps); err != nil || !strings.Contains(string(data), `"awsLambdaFunction"`) {
		t.Errorf("blueprints: %v\n%s", err, data)
	}

	// An invalid config is refused with its problems; an unknown target is named.
	broken := writeFile(t, "broken.yml", strings.Replace(oceanLambdaConfig, "identifier: .Identifier", "identifier: .Identifier |", 1))
	if out, err = runCLI(t, "config", "convert", "--config", broken, "--to", "exporter"); exitCode(err) != 1 || !strings.Contains(err.Error(), "resources[0].port.entity.mappings.identifier: jq: parse error") {
		t.Fatalf("convert of an invalid config: %v\n%s", err, out)
	}
	if _, err = runCLI(t, "config", "convert", "--config", oceanOut, "--to", "cloudquery"); err == nil || !strings.Contains(err.Error(), `--to "cloudquery": want ocean, exporter or library`) {
		t.Fatalf("unknown target: %v", err)
	}
}

// handle reads Ocean's format as it reads config.json: the same message
// gives the same entity, and a proven-gone function is deleted.
func TestHandleWithOceanConfig(t *testing.T) {
	s, _, _ := eventsEnvironment(t)
	cfg := writeFile(t, "port-app-config.yml", oceanLambdaConfig)
	s.PutFunction(t, "eu-west-1", "ocean-function", 512)
	create := writeFile(t, "create.json", string(dispatchtest.FunctionMessage("eu-west-1", "CreateFunction20150331", "ocean-function")))
	out, err := runCLI(t, "handle", "--config", cfg, create)
	if err != nil {
		t.Fatalf("handle: %v\n%s", err, out)
	}
	got, ok := s.Port.Entity("lambda", "ocean-function")
	if !ok || got.Title != "ocean-function" || got.Properties["memorySize"] != float64(512) || got.Properties["runtime"] != "python3.12" {
		t.Fatalf("entity %+v, %v\n%s", got, ok, out)
	}
	if !strings.Contains(got.Datasource, "(accountid/"+dispatchtest.AccountID+" region/eu-west-1 kind/AWS::Lambda::Function)") {
		t.Errorf("datasource %q", got.Datasource)
	}

	// The function is deleted in AWS; the entity, this exporter's, goes.
	s.Port.Put(dispatchtest.Datasource("eu-west-1", "AWS::Lambda::Function"), entity.Entity{Blueprint: "lambda", Identifier: "gone-function", Properties: map[string]any{}})
	del := writeFile(t, "delete.json", string(dispatchtest.FunctionMessage("eu-west-1", "DeleteFunction20150331", "gone-function")))
	if out, err = runCLI(t, "handle", "--config", cfg, del); err != nil {
		t.Fatalf("handle delete: %v\n%s", err, out)
	}
	if _, ok := s.Port.Entity("lambda", "gone-function"); ok {
		t.Fatalf("the gone function's entity is still in Port:\n%s", out)
	}
	if _, ok := s.Port.Entity("lambda", "ocean-function"); !ok {
		t.Fatal("the delete message removed another entity")
	}
}
