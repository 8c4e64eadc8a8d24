// Command deploygen writes the read permissions of the rule library's kinds,
// from the catalogue, where the deployments state them: the CloudFormation
// stack's ResourceReadActions default, the Terraform module's
// resource_read_actions default, and, for the example config
// (deploy/terraform/examples/complete/config.json), the Terraform example's
// variable and docs/install.md's CloudFormation command. deploy's tests fail
// when these drift from the catalogue. Run by go generate in internal/catalog.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

func main() {
	repo := flag.String("repo", "../..", "the repository's root")
	flag.Parse()
	if err := run(*repo); err != nil {
		fmt.Fprintln(os.Stderr, "deploygen:", err)
		os.Exit(1)
	}
}

func run(repo string) error {
	kinds, err := library.All()
	if err != nil {
		return err
	}
	var types []string
	for _, k := range kinds {
		types = append(types, k.Type)
	}
	libraryActions := catalog.ReadPermissions(types).Actions

	example, err := os.ReadFile(filepath.Join(repo, "deploy/terraform/examples/complete/config.json"))
	if err != nil {
		return err
	}
	cfg, err := config.Parse(example, config.JSON)
	if err != nil {
		return err
	}
	var exampleTypes []string
	for _, r := range cfg.Resources {
		exampleTypes = append(exampleTypes, r.Kind)
	}
	exampleActions := catalog.ReadPermissions(exampleTypes).Actions

	edits := []struct {
		file string
		re   *regexp.Regexp
		text string
	}{
		{"deploy/cloudformation/template.yaml", cfnDefault, "${1}" + strconv.Quote(strings.Join(libraryActions, ","))},
		{"deploy/terraform/modules/port-aws-exporter/variables.tf", tfDefault, "${1}default = " + hclList(libraryActions, "    ") + "\n}"},
		{"deploy/terraform/examples/complete/variables.tf", tfDefault, "${1}default = " + hclList(exampleActions, "    ") + "\n}"},
		{"docs/install.md", docsParameter, "${1}" + strings.Join(exampleActions, ",") + "'"},
	}
	for _, e := range edits {
		path := filepath.Join(repo, e.file)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !e.re.Match(data) {
			return fmt.Errorf("%s: nothing matches %s to rewrite", e.file, e.re)
		}
		updated := e.re.ReplaceAll(data, []byte(e.text))
		if !bytes.Equal(updated, data) {
			if err := os.WriteFile(path, updated, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "deploygen: updated %s\n", e.file)
		}
	}
	return nil
}

var (
	// The Default line of the stack's ResourceReadActions parameter.
	cfnDefault = regexp.MustCompile(`(?m)(^  ResourceReadActions:\n    Type: CommaDelimitedList\n    Default: )"[^"\n]*"`)
	// The default of variable "resource_read_actions", up to the block's end.
	tfDefault = regexp.MustCompile(`(?s)(variable "resource_read_actions" \{[^}]*?)default\s*=\s*\[[^\]]*\]\n\}`)
	// The CloudFormation deploy command's ResourceReadActions='...'.
	docsParameter = regexp.MustCompile(`(ResourceReadActions=')[^'\n]*'`)
)

// hclList writes a list of strings as an HCL list, one item a line.
func hclList(items []string, indent string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, it := range items {
		b.WriteString(indent + strconv.Quote(it) + ",\n")
	}
	b.WriteString(strings.TrimSuffix(indent, "  ") + "]")
	return b.String()
}
