package deploy_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

// TestTerraformExampleMatchesTheLibrary keeps the complete example's rules and
// config in step with the rule library: the rules' delete identifiers are the
// entity identifiers of the library's mappings, so a config from elsewhere
// with generated rules (or stale generated rules) would delete nothing.
func TestTerraformExampleMatchesTheLibrary(t *testing.T) {
	kinds, err := library.Select([]string{"lambda-function"})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := library.Terraform(kinds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("terraform/examples/complete/event-rules/port-aws-exporter-rules.tf")
	if err != nil {
		t.Fatal(err)
	}
	// The file is the generator's output after a header comment.
	if !bytes.Contains(got, bytes.TrimSpace(rules)) {
		t.Errorf("event-rules/port-aws-exporter-rules.tf differs from `rules generate --kinds lambda-function --format terraform`: regenerate it")
	}
	config, err := library.NewBundle(kinds).ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("terraform/examples/complete/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(example), bytes.TrimSpace(config)) {
		t.Errorf("terraform/examples/complete/config.json differs from `init --kinds lambda-function`'s config.json: regenerate it")
	}
}
