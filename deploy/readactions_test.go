package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

const regenerateReadActions = "regenerate with go generate ./internal/catalog (or go run ./internal/catalog/internal/deploygen -repo . from the root)"

// The stack, the Terraform module, the Terraform example and the docs'
// CloudFormation command state read permissions taken from one place: the
// catalogue's list and read handler permissions (internal/catalog), as
// `iam policy` prints them.
func TestReadActionsComeFromTheCatalogue(t *testing.T) {
	kinds, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, k := range kinds {
		types = append(types, k.Type)
	}
	library := catalog.ReadPermissions(types)
	if len(library.Unknown) > 0 || len(library.Actions) < 50 {
		t.Fatalf("library kinds' permissions: %d actions, unknown %v", len(library.Actions), library.Unknown)
	}

	raw, err := os.ReadFile("terraform/examples/complete/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(raw, config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var exampleTypes []string
	for _, r := range cfg.Resources {
		exampleTypes = append(exampleTypes, r.Kind)
	}
	example := catalog.ReadPermissions(exampleTypes)

	t.Run("stack default", func(t *testing.T) {
		params := readTemplate(t, stackTemplatePath)["Parameters"].(map[string]any)
		def, _ := params["ResourceReadActions"].(map[string]any)["Default"].(string)
		if got := strings.Split(def, ","); !slices.Equal(got, library.Actions) {
			t.Errorf("ResourceReadActions' default is not the library kinds' read actions:\n got  %v\n want %v\n%s", got, library.Actions, regenerateReadActions)
		}
	})
	t.Run("module default", func(t *testing.T) {
		if got := variableDefault(t, "terraform/modules/port-aws-exporter/variables.tf", "resource_read_actions"); !slices.Equal(got, library.Actions) {
			t.Errorf("resource_read_actions' default differs:\n got  %v\n want %v\n%s", got, library.Actions, regenerateReadActions)
		}
	})
	t.Run("example", func(t *testing.T) {
		if got := variableDefault(t, "terraform/examples/complete/variables.tf", "resource_read_actions"); !slices.Equal(got, example.Actions) {
			t.Errorf("the example's resource_read_actions is not its config.json's read actions:\n got  %v\n want %v\n%s", got, example.Actions, regenerateReadActions)
		}
	})
	t.Run("docs", func(t *testing.T) {
		doc, err := os.ReadFile("../docs/install.md")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`ResourceReadActions='([^'\n]*)'`).FindSubmatch(doc)
		if m == nil {
			t.Fatal("docs/install.md has no ResourceReadActions='...' in its CloudFormation command")
		}
		if got := strings.Split(string(m[1]), ","); !slices.Equal(got, example.Actions) {
			t.Errorf("docs/install.md's ResourceReadActions is not the Terraform example's:\n got  %v\n want %v\n%s", got, example.Actions, regenerateReadActions)
		}
	})
}

// variableDefault is the default of a Terraform variable whose default is a
// list of strings.
func variableDefault(t *testing.T, path, name string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 || b.Labels[0] != name {
			continue
		}
		attr, ok := b.Body.Attributes["default"]
		if !ok {
			t.Fatalf("%s: variable %q has no default", path, name)
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%s: variable %q default: %v", path, name, diags)
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, e.AsString())
		}
		return out
	}
	t.Fatalf("%s: no variable %q", path, name)
	return nil
}
