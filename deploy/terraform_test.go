package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

// tfModule is what one directory of .tf files declares.
type tfModule struct {
	dir       string
	variables map[string]bool // name -> required (no default)
	locals    map[string]bool
	resources map[string]bool // "type.name"
	data      map[string]bool // "type.name"
	modules   map[string]*hclsyntax.Block
	outputs   map[string]bool
	iterators map[string]bool // names of dynamic blocks, usable as iterators
	bodies    []*hclsyntax.Body
}

// loadTFModule parses every .tf file of dir with HCL's native syntax parser.
func loadTFModule(dir string) (*tfModule, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .tf files", dir)
	}
	m := &tfModule{
		dir: dir, variables: map[string]bool{}, locals: map[string]bool{}, resources: map[string]bool{},
		data: map[string]bool{}, modules: map[string]*hclsyntax.Block{}, outputs: map[string]bool{}, iterators: map[string]bool{},
	}
	parser := hclparse.NewParser()
	for _, path := range files {
		f, diags := parser.ParseHCLFile(path)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %s", path, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		m.bodies = append(m.bodies, body)
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				_, hasDefault := b.Body.Attributes["default"]
				m.variables[b.Labels[0]] = !hasDefault
			case "locals":
				for name := range b.Body.Attributes {
					m.locals[name] = true
				}
			case "resource":
				m.resources[b.Labels[0]+"."+b.Labels[1]] = true
			case "data":
				m.data[b.Labels[0]+"."+b.Labels[1]] = true
			case "module":
				m.modules[b.Labels[0]] = b
			case "output":
				m.outputs[b.Labels[0]] = true
			}
		}
		collectDynamicIterators(body, m.iterators)
	}
	return m, nil
}

func collectDynamicIterators(body *hclsyntax.Body, into map[string]bool) {
	for _, b := range body.Blocks {
		if b.Type == "dynamic" {
			into[b.Labels[0]] = true
			if it, ok := b.Body.Attributes["iterator"]; ok {
				into[hcl.ExprAsKeyword(it.Expr)] = true
			}
		}
		collectDynamicIterators(b.Body, into)
	}
}

// problems lists every reference of the module that points at nothing it
// declares: var.X, local.X, module.X(.output), data.T.N and resources T.N.
// Module calls with a local source are checked against the called module.
func (m *tfModule) problems(loadChild func(dir string) (*tfModule, error)) []string {
	var out []string
	for _, body := range m.bodies {
		walkExpressions(body, "", func(where string, expr hclsyntax.Expression) {
			for _, tr := range expr.Variables() {
				if p := m.checkTraversal(tr, loadChild); p != "" {
					out = append(out, fmt.Sprintf("%s (%s): %s", tr.SourceRange().String(), where, p))
				}
			}
		})
	}
	names := make([]string, 0, len(m.modules))
	for name := range m.modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, m.checkModuleCall(name, loadChild)...)
	}
	return out
}

// walkExpressions visits each expression of a body, skipping variable type
// constraints (string, list(string)), which are types, not references.
func walkExpressions(body *hclsyntax.Body, where string, fn func(string, hclsyntax.Expression)) {
	for name, attr := range body.Attributes {
		if name == "type" && strings.HasPrefix(where, "variable") {
			continue
		}
		fn(where+"."+name, attr.Expr)
	}
	for _, b := range body.Blocks {
		walkExpressions(b.Body, strings.TrimPrefix(where+"."+b.Type+"."+strings.Join(b.Labels, "."), "."), fn)
	}
}

func (m *tfModule) checkTraversal(tr hcl.Traversal, loadChild func(string) (*tfModule, error)) string {
	root := tr.RootName()
	attr := func(i int) string {
		if i < len(tr) {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	switch root {
	case "var":
		if _, ok := m.variables[attr(1)]; !ok {
			return "undeclared variable " + attr(1)
		}
	case "local":
		if !m.locals[attr(1)] {
			return "undeclared local " + attr(1)
		}
	case "data":
		if !m.data[attr(1)+"."+attr(2)] {
			return "undeclared data source " + attr(1) + "." + attr(2)
		}
	case "module":
		call, ok := m.modules[attr(1)]
		if !ok {
			return "undeclared module " + attr(1)
		}
		if child, err := m.localChild(call, loadChild); err != nil {
			return err.Error()
		} else if child != nil && attr(2) != "" && !child.outputs[attr(2)] {
			return fmt.Sprintf("module %s has no output %s", attr(1), attr(2))
		}
	case "path", "terraform", "each", "count", "self":
	default:
		if m.iterators[root] {
			return ""
		}
		if !m.resources[root+"."+attr(1)] {
			return "undeclared resource " + root + "." + attr(1)
		}
	}
	return ""
}

// localChild loads the module a call refers to when its source is a local path.
func (m *tfModule) localChild(call *hclsyntax.Block, loadChild func(string) (*tfModule, error)) (*tfModule, error) {
	src, ok := call.Body.Attributes["source"]
	if !ok {
		return nil, fmt.Errorf("module %s has no source", call.Labels[0])
	}
	v, diags := src.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, fmt.Errorf("module %s: source is not a literal: %s", call.Labels[0], diags.Error())
	}
	s := v.AsString()
	if !strings.HasPrefix(s, "./") && !strings.HasPrefix(s, "../") {
		return nil, nil
	}
	return loadChild(filepath.Join(m.dir, s))
}

var moduleMetaArguments = []string{"source", "version", "providers", "depends_on", "count", "for_each"}

func (m *tfModule) checkModuleCall(name string, loadChild func(string) (*tfModule, error)) []string {
	call := m.modules[name]
	child, err := m.localChild(call, loadChild)
	if err != nil {
		return []string{err.Error()}
	}
	if child == nil {
		return nil
	}
	var out []string
	for arg := range call.Body.Attributes {
		if _, declared := child.variables[arg]; !declared && !slices.Contains(moduleMetaArguments, arg) {
			out = append(out, fmt.Sprintf("module %s sets %s, which %s does not declare", name, arg, child.dir))
		}
	}
	for v, required := range child.variables {
		if _, given := call.Body.Attributes[v]; required && !given {
			out = append(out, fmt.Sprintf("module %s does not give required variable %s of %s", name, v, child.dir))
		}
	}
	sort.Strings(out)
	return out
}

// terraformDirs are the directories holding Terraform configuration.
func terraformDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("terraform", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".tf") && !slices.Contains(dirs, filepath.Dir(path)) {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 3 {
		t.Fatalf("found Terraform in %v, want the module, the example and its event rules", dirs)
	}
	return dirs
}

func TestTerraformParsesAndReferencesOnlyWhatItDeclares(t *testing.T) {
	for _, dir := range terraformDirs(t) {
		t.Run(dir, func(t *testing.T) {
			m, err := loadTFModule(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.problems(loadTFModule) {
				t.Error(p)
			}
		})
	}
}

func TestTerraformModuleVariablesAreDescribedAndTyped(t *testing.T) {
	for _, dir := range terraformDirs(t) {
		for _, path := range must(filepath.Glob(filepath.Join(dir, "*.tf"))) {
			f, diags := hclparse.NewParser().ParseHCLFile(path)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			for _, b := range f.Body.(*hclsyntax.Body).Blocks {
				if b.Type != "variable" && b.Type != "output" {
					continue
				}
				if _, ok := b.Body.Attributes["description"]; !ok {
					t.Errorf("%s: %s %q has no description", path, b.Type, b.Labels[0])
				}
				if _, ok := b.Body.Attributes["type"]; !ok && b.Type == "variable" {
					t.Errorf("%s: variable %q has no type", path, b.Labels[0])
				}
			}
		}
	}
}

// TestTerraformExampleTakesGeneratedRules puts the rules generator's Terraform
// output for every kind in place of the example's rules file and checks the
// example still wires it: the generated file's variables are given.
func TestTerraformExampleTakesGeneratedRules(t *testing.T) {
	kinds, err := library.Select([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	generated, err := library.Terraform(kinds)
	if err != nil {
		t.Fatal(err)
	}
	example := "terraform/examples/complete"
	rulesDir := filepath.Join(example, "event-rules")
	loadChild := func(dir string) (*tfModule, error) {
		if filepath.Clean(dir) != filepath.Clean(rulesDir) {
			return loadTFModule(dir)
		}
		tmp := t.TempDir()
		if err := os.WriteFile(filepath.Join(tmp, "port-aws-exporter-rules.tf"), generated, 0o644); err != nil {
			return nil, err
		}
		m, err := loadTFModule(tmp)
		if err == nil {
			m.dir = rulesDir + " (generated)"
		}
		return m, err
	}
	m, err := loadTFModule(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.problems(loadChild) {
		t.Error(p)
	}
	gen, err := loadChild(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(kinds); len(gen.resources) != 2*want {
		t.Errorf("generated rules declare %d resources, want a rule and a target for each of %d kinds", len(gen.resources), want)
	}
	for _, p := range gen.problems(loadTFModule) {
		t.Error("generated rules:", p)
	}
}

// hclCheckCase is one record of testdata/hcl-checks.yaml: a small Terraform
// tree and the problem the checker must report (or none).
type hclCheckCase struct {
	Name  string            `json:"name"`
	Files map[string]string `json:"files"` // path under the case's root -> content
	Check string            `json:"check"` // directory to check
	Want  []string          `json:"want"`  // one substring per problem, any order
}

// TestTerraformCheckerCatchesMistakes runs the reference checker on trees with
// known mistakes, so a checker that finds nothing cannot pass.
func TestTerraformCheckerCatchesMistakes(t *testing.T) {
	raw, err := os.ReadFile("testdata/hcl-checks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hclCheckCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range tc.Files {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m, err := loadTFModule(filepath.Join(root, tc.Check))
			if err != nil {
				t.Fatal(err)
			}
			got := m.problems(loadTFModule)
			sort.Strings(got)
			if len(got) != len(tc.Want) {
				t.Fatalf("problems = %q, want %d matching %q", got, len(tc.Want), tc.Want)
			}
			unmatched := slices.Clone(got)
			for _, w := range tc.Want {
				i := slices.IndexFunc(unmatched, func(p string) bool { return strings.Contains(p, w) })
				if i < 0 {
					t.Errorf("no problem mentions %q; problems: %q", w, got)
					continue
				}
				unmatched = slices.Delete(unmatched, i, i+1)
			}
		})
	}
}

func TestTerraformIsFormatted(t *testing.T) {
	tf := findOptionalTool(t, "terraform", "TERRAFORM")
	out, err := exec.Command(tf, "fmt", "-check", "-recursive", "-diff", "terraform").CombinedOutput()
	if err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
