package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/mod/modfile"
)

const dockerfilePath = "docker/Dockerfile"

// There is no container engine on the development machines: the Dockerfile is
// checked with BuildKit's own parser and lint rules (those `docker build
// --check` runs at parse time), and its promises are asserted below.
func parseDockerfile(t *testing.T) ([]instructions.Stage, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse %s: %v", dockerfilePath, err)
	}
	for _, w := range ast.Warnings {
		t.Errorf("%s:%d: %s", dockerfilePath, w.Location.Start.Line, w.Short)
	}
	var lintWarnings []string
	lint := linter.New(&linter.Config{Warn: func(rule, description, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		lintWarnings = append(lintWarnings, fmt.Sprintf("%s:%d: %s: %s", dockerfilePath, line, rule, msg))
	}})
	stages, metaArgs, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		t.Fatalf("instructions of %s: %v", dockerfilePath, err)
	}
	for _, w := range lintWarnings {
		t.Error(w)
	}
	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	return stages, args
}

func commandsOf[C any](stage instructions.Stage) []C {
	var out []C
	for _, c := range stage.Commands {
		if typed, ok := c.(C); ok {
			out = append(out, typed)
		}
	}
	return out
}

func TestDockerfileBuildsAStaticNonRootServeImage(t *testing.T) {
	stages, args := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a small runtime stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	t.Run("base images pinned", func(t *testing.T) {
		for _, s := range stages {
			base := os.Expand(s.BaseName, func(k string) string { return args[k] })
			if base == "scratch" {
				continue
			}
			ref := base[strings.LastIndex(base, "/")+1:]
			if !strings.Contains(base, "@sha256:") && (!strings.Contains(ref, ":") || strings.HasSuffix(ref, ":latest")) {
				t.Errorf("stage %q: base image %s is not pinned to a version or digest", s.Name, base)
			}
		}
	})

	t.Run("Go version follows go.mod", func(t *testing.T) {
		raw, err := os.ReadFile("../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		mod, err := modfile.ParseLax("go.mod", raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := args["GO_VERSION"], mod.Go.Version; got != want {
			t.Errorf("Dockerfile GO_VERSION = %q, go.mod says go %s", got, want)
		}
		if !strings.Contains(build.BaseName, "golang:${GO_VERSION}") {
			t.Errorf("build stage base %s does not use GO_VERSION", build.BaseName)
		}
	})

	t.Run("static reproducible binary", func(t *testing.T) {
		var goBuild string
		for _, r := range commandsOf[*instructions.RunCommand](build) {
			if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
				goBuild = line
			}
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=false", "-X github.com/port-labs/port-aws-exporter/internal/version.version=", "./cmd/port-aws-exporter"} {
			if !strings.Contains(goBuild, want) {
				t.Errorf("go build step %q lacks %s", goBuild, want)
			}
		}
	})

	t.Run("runtime stage copies only the binary", func(t *testing.T) {
		copies := commandsOf[*instructions.CopyCommand](final)
		if len(copies) != 1 || copies[0].From != build.Name {
			t.Errorf("runtime stage copies %d things, want the binary from stage %q", len(copies), build.Name)
		}
		if len(commandsOf[*instructions.RunCommand](final)) != 0 {
			t.Error("runtime stage runs commands; it must not need a shell")
		}
	})

	t.Run("non-root user", func(t *testing.T) {
		users := commandsOf[*instructions.UserCommand](final)
		if len(users) == 0 {
			t.Fatal("runtime stage sets no USER: it would run as root")
		}
		user := strings.SplitN(users[len(users)-1].User, ":", 2)[0]
		if uid, err := strconv.Atoi(user); (err == nil && uid == 0) || user == "root" || user == "" {
			t.Errorf("runtime USER %q is root", users[len(users)-1].User)
		}
	})

	t.Run("serve entrypoint and metrics port", func(t *testing.T) {
		eps := commandsOf[*instructions.EntrypointCommand](final)
		if len(eps) != 1 || eps[0].PrependShell || !slices.Contains(eps[0].CmdLine, "serve") {
			t.Fatalf("ENTRYPOINT = %+v, want exec form running serve", eps)
		}
		var ports []string
		for _, e := range commandsOf[*instructions.ExposeCommand](final) {
			ports = append(ports, e.Ports...)
		}
		if !slices.Contains(ports, metricsPort+"/tcp") && !slices.Contains(ports, metricsPort) {
			t.Errorf("EXPOSE %v, want the metrics port %s", ports, metricsPort)
		}
	})
}

// metricsPort is where serve listens for /healthz and /metrics in the image,
// the chart and the docs.
const metricsPort = "8080"
