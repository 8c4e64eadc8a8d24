package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// visibleCommands is every command of the tree a user can call, root included.
func visibleCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// Every command's help has examples, its environment and its exit status:
// a command added without document() fails here.
func TestEveryCommandDocumentsExamplesEnvironmentAndExitStatus(t *testing.T) {
	commands := visibleCommands(newRootCommand())
	// root, config, config validate, sync, serve, lambda, handle, rules and
	// its three, kinds, kinds list, init, version, help, completion and its four.
	if len(commands) < 21 {
		t.Fatalf("%d commands in the tree, want at least 21", len(commands))
	}
	for _, c := range commands {
		t.Run(c.CommandPath(), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				t.Error("no examples: call document(cmd, examples, env, exit statuses)")
			}
			for _, line := range strings.Split(c.Example, "\n") {
				if !strings.Contains(line, "port-aws-exporter") {
					t.Errorf("example %q does not run port-aws-exporter", line)
				}
			}
			doc := docOf(c)
			if doc == nil {
				t.Fatal("no environment or exit status documented: call document(cmd, ...)")
			}
			for _, name := range doc.env {
				if envDescriptions[name] == "" {
					t.Errorf("variable %s has no description in envDescriptions", name)
				}
			}
			codes := map[int]bool{}
			for _, e := range doc.exit {
				codes[e.code] = true
				if strings.TrimSpace(e.meaning) == "" {
					t.Errorf("exit status %d has no meaning", e.code)
				}
			}
			if !codes[exitOK] {
				t.Error("exit status 0 is not documented")
			}

			// And the real --help shows the three sections.
			root := newRootCommand()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(append(strings.Fields(c.CommandPath())[1:], "--help"))
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("--help: %v", err)
			}
			help := out.String()
			for _, section := range []string{"Examples:\n", "\nEnvironment:\n", "\nExit status:\n  0  "} {
				if !strings.Contains(help, section) {
					t.Errorf("--help lacks %q:\n%s", section, help)
				}
			}
			if takesInput(c) && !strings.Contains(help, "\n  2  ") {
				t.Errorf("--help of a command with flags does not say what exit status 2 means:\n%s", help)
			}
		})
	}
}

// The commands that talk to Port and AWS name the variables that configure them.
func TestPortAndAWSCommandsNameTheirVariables(t *testing.T) {
	root := newRootCommand()
	cases := map[string][]string{
		"sync":            concat(envPort, envConfig, []string{"AWS_REGION", "SYNC_CONCURRENCY", "LOG_LEVEL"}),
		"serve":           concat(envPort, envConfig, []string{"AWS_REGION", "EVENTS_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "SYNC_LEASE", "POD_NAME"}),
		"handle":          concat(envPort, envConfig, []string{"AWS_REGION", "SYNC_POLICY"}),
		"lambda":          concat(envPort, envConfig, []string{"AWS_LAMBDA_RUNTIME_API", "EVENTS_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "EVENT_CONCURRENCY"}),
		"config validate": concat(envConfig, []string{"AWS_REGION"}),
	}
	if len(cases) < 5 {
		t.Fatalf("%d cases, want 5", len(cases))
	}
	for path, want := range cases {
		cmd, _, err := root.Find(strings.Fields(path))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		writeEnvAndExit(&out, cmd, docOf(cmd))
		for _, name := range want {
			if !strings.Contains(out.String(), "\n  "+name+" ") {
				t.Errorf("%s --help does not name %s:\n%s", path, name, out.String())
			}
		}
	}
	// handle and lambda run no full sync here: --concurrency would do nothing.
	for _, path := range []string{"handle", "lambda"} {
		cmd, _, _ := root.Find([]string{path})
		if cmd.Flags().Lookup("concurrency") != nil {
			t.Errorf("%s has --concurrency, which only a full sync uses", path)
		}
	}
}

// -o and --output mean an output format in every command; a file is --out-file.
func TestOutputFlagIsAFormatEverywhere(t *testing.T) {
	formats := 0
	for _, c := range visibleCommands(newRootCommand()) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Deprecated != "" || f.Hidden {
				return // an old spelling kept for one release
			}
			if f.Shorthand == "o" || f.Name == "output" {
				if _, ok := f.Value.(*outputFormat); !ok {
					t.Errorf("%s: -%s/--%s is a %s, not an output format (use --out-file for a file)", c.CommandPath(), f.Shorthand, f.Name, f.Value.Type())
				}
				formats++
			}
			if strings.Contains(f.Name, "file") && f.Name != "out-file" && strings.HasPrefix(f.Name, "out") {
				t.Errorf("%s: --%s: a file to write is --out-file", c.CommandPath(), f.Name)
			}
		})
	}
	// version, kinds list, rules test, rules lint and rules generate have one.
	if formats < 5 {
		t.Errorf("%d format flags found, want at least 5", formats)
	}
}

// The old file spellings still write the file, with a warning on stderr.
func TestOldOutputFileSpellingsStillWork(t *testing.T) {
	isolateCLIEnvironment(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		file string
		warn string
	}{
		{"rules generate -o FILE", []string{"rules", "generate", "--kinds", "sqs-queue", "-o", filepath.Join(dir, "a.yaml")}, "a.yaml", "use --out-file"},
		{"rules generate --out FILE", []string{"rules", "generate", "--kinds", "sqs-queue", "--out", filepath.Join(dir, "b.yaml")}, "b.yaml", "--out has been deprecated"},
		{"rules generate --out-file FILE", []string{"rules", "generate", "--kinds", "sqs-queue", "-o", "terraform", "--out-file", filepath.Join(dir, "c.tf")}, "c.tf", ""},
	}
	if len(cases) < 3 {
		t.Fatalf("%d cases, want 3", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newRootCommand()
			var stdout, stderr bytes.Buffer
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			root.SetArgs(c.args)
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil || !strings.Contains(string(data), "SQS") {
				t.Fatalf("%s not written with the rules (%v): %.200s", c.file, err, data)
			}
			if strings.Contains(stdout.String(), "SQS") {
				t.Errorf("rules also went to standard output: %.200s", stdout.String())
			}
			// cobra prints pflag's deprecation notices with Print: standard
			// error unless SetOut was called, as here.
			messages := stdout.String() + stderr.String()
			if c.warn != "" && !strings.Contains(messages, c.warn) {
				t.Errorf("no deprecation warning %q:\n%s", c.warn, messages)
			}
			if c.warn == "" && strings.Contains(messages, "deprecated") {
				t.Errorf("a deprecation warning for the current spelling:\n%s", messages)
			}
		})
	}
	// sync's --output FILE is deprecated too, and still the file.
	root := newRootCommand()
	cmd, _, _ := root.Find([]string{"sync"})
	if f := cmd.Flags().Lookup("output"); f == nil || f.Deprecated == "" {
		t.Error("sync --output is gone or not deprecated")
	}
	if err := cmd.Flags().Parse([]string{"--output", "x.jsonl"}); err != nil || cmd.Flags().Lookup("out-file").Value.String() != "x.jsonl" {
		t.Errorf("sync --output x.jsonl does not set --out-file (%v)", err)
	}
}

// undocumentedOnPurpose are variables the product reads that no user sets.
var undocumentedOnPurpose = map[string]string{
	"_LAMBDA_SERVER_PORT": "set by aws-lambda-go's RPC mode (the go1.x runtime); only tells the lambda command it is inside Lambda",
}

// Every variable the product's code reads by name is in some command's help:
// the source is read (os.Getenv, os.LookupEnv, cli.BindEnv), so a new
// variable without documentation fails here.
func TestEveryVariableTheCodeReadsIsDocumented(t *testing.T) {
	read := variablesReadBySource(t, []string{".", "../../internal"}, []string{"testbed", "bench", "gen", "build"}) // gen, build: internal/catalog's generator, not in the binary
	if len(read) < 25 {
		t.Fatalf("found %d variables read in the source, want at least 25 (is the scan broken?): %v", len(read), read)
	}
	t.Logf("variables read by the code: %v", read)
	documented := map[string]bool{}
	for _, c := range visibleCommands(newRootCommand()) {
		var out bytes.Buffer
		writeEnvAndExit(&out, c, docOf(c))
		for _, line := range strings.Split(out.String(), "\n") {
			if fields := strings.Fields(line); len(fields) > 0 {
				documented[fields[0]] = true
			}
		}
	}
	var missing []string
	for _, name := range read {
		if !documented[name] && undocumentedOnPurpose[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("variables read by the code but named in no command's help: %v", missing)
	}
}

// variablesReadBySource parses the non-test Go files under dirs (skipping
// directories named in skip) and returns the names passed to os.Getenv,
// os.LookupEnv and BindEnv, as literals or as string constants (of the same
// package, or pkg.Name of another one scanned).
func variablesReadBySource(t *testing.T, dirs, skip []string) []string {
	t.Helper()
	type file struct {
		pkg string
		f   *ast.File
	}
	var files []file
	consts := map[string]string{} // "pkg.Name" → value
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			for _, s := range append(skip, "testdata") {
				if d.Name() == s {
					return filepath.SkipDir
				}
			}
			fset := token.NewFileSet()
			pkgs, err := parser.ParseDir(fset, path, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
			if err != nil {
				return err
			}
			for name, pkg := range pkgs {
				for _, f := range pkg.Files {
					files = append(files, file{name, f})
					ast.Inspect(f, func(n ast.Node) bool {
						if vs, ok := n.(*ast.ValueSpec); ok {
							for i, id := range vs.Names {
								if i < len(vs.Values) {
									if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
										consts[name+"."+id.Name], _ = strconv.Unquote(lit.Value)
									}
								}
							}
						}
						return true
					})
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f.f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			fn := ""
			switch fun := call.Fun.(type) {
			case *ast.SelectorExpr:
				fn = fun.Sel.Name
			case *ast.Ident:
				fn = fun.Name
			}
			var arg ast.Expr
			switch fn {
			case "Getenv", "LookupEnv":
				arg = call.Args[0]
			case "BindEnv":
				arg = call.Args[len(call.Args)-1]
			default:
				return true
			}
			switch a := arg.(type) {
			case *ast.BasicLit:
				if v, err := strconv.Unquote(a.Value); err == nil {
					names[v] = true
				}
			case *ast.Ident:
				if v, ok := consts[f.pkg+"."+a.Name]; ok {
					names[v] = true
				}
			case *ast.SelectorExpr:
				if pkg, ok := a.X.(*ast.Ident); ok {
					if v, ok := consts[pkg.Name+"."+a.Sel.Name]; ok {
						names[v] = true
					}
				}
			}
			return true
		})
	}
	var out []string
	for n := range names {
		if n != "" && strings.ToUpper(n) == n {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
