package deploy_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// TestBuildLambda runs scripts/build-lambda.sh twice for the host architecture
// (its packages are already compiled for the tests, so this costs little) and
// checks that the two zips are byte-identical and hold what provided.al2023
// runs: one executable entry named bootstrap, a static ELF for that machine.
func TestBuildLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice; skipped with -short")
	}
	// Mostly compiling with -trimpath (a cold cache costs half a minute); the
	// other tests of the package mostly wait on Python peers, so overlap them.
	t.Parallel()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	arch := runtime.GOARCH
	if _, ok := machines[arch]; !ok {
		t.Skipf("Lambda has no %s architecture", arch)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	const epoch = 1767225600 // 2026-01-01T00:00:00Z
	build := func() []byte {
		dist := t.TempDir()
		cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "build-lambda.sh"), arch)
		cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=v0.0.0-test", "SOURCE_DATE_EPOCH="+strconv.Itoa(epoch), "GO="+goCmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build-lambda.sh: %v\n%s", err, out)
		}
		zipped, err := os.ReadFile(filepath.Join(dist, "bootstrap-"+arch+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		return zipped
	}
	first, second := build(), build()
	if sha256.Sum256(first) != sha256.Sum256(second) {
		t.Errorf("two builds of the same tree differ: %x vs %x", sha256.Sum256(first), sha256.Sum256(second))
	}

	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("zip entries = %v, want exactly bootstrap", zr.File)
	}
	entry := zr.File[0]
	if mode := entry.Mode(); mode.Perm() != 0o755 || !mode.IsRegular() {
		t.Errorf("bootstrap mode = %v, want -rwxr-xr-x", mode)
	}
	if got := entry.Modified.UTC(); !got.Equal(time.Unix(epoch, 0).UTC()) {
		t.Errorf("bootstrap time = %v, want SOURCE_DATE_EPOCH %v", got, time.Unix(epoch, 0).UTC())
	}
	rc, err := entry.Open()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if exe.Machine != machines[arch] {
		t.Errorf("bootstrap machine = %v, want %v", exe.Machine, machines[arch])
	}
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("bootstrap is dynamically linked (%v): provided.al2023 needs a static binary", p.Type)
		}
	}
	if exe.Section(".symtab") != nil {
		t.Error("bootstrap keeps its symbol table: -s was not applied")
	}
	if bytes.Contains(binary, []byte(repoRoot(t))) {
		t.Error("bootstrap contains the build directory: -trimpath was not applied")
	}
	if !bytes.Contains(binary, []byte("v0.0.0-test")) {
		t.Error("bootstrap does not carry VERSION (-X .../internal/version.version)")
	}

	t.Run("binary knows the environment the deployments set", func(t *testing.T) {
		// A renamed variable in the binary would silently leave a deployment
		// without its configuration; each name must appear in the binary.
		names := []string{"PORT_CLIENT_ID", "PORT_CLIENT_SECRET"} // the chart's secretKeyRefs
		fn := readTemplate(t, stackTemplatePath)["Resources"].(map[string]any)["LambdaFunction"].(map[string]any)
		for name := range fn["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any) {
			names = append(names, name)
		}
		for _, name := range names {
			if !bytes.Contains(binary, []byte(name)) {
				t.Errorf("the binary never mentions %s, which the deployments set", name)
			}
		}
	})

	t.Run("the image's and chart's arguments and the example's config are accepted", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the bootstrap is a Linux binary")
		}
		exe := filepath.Join(t.TempDir(), "port-aws-exporter")
		if err := os.WriteFile(exe, binary, 0o755); err != nil {
			t.Fatal(err)
		}
		stages, _ := parseDockerfile(t)
		final := stages[len(stages)-1]
		var entrypoint, defaultArgs []string
		for _, c := range final.Commands {
			switch c := c.(type) {
			case *instructions.EntrypointCommand:
				entrypoint = c.CmdLine
			case *instructions.CmdCommand:
				defaultArgs = c.CmdLine
			}
		}
		chartArgs := func(values map[string]any) []string {
			values["port"] = map[string]any{"existingSecret": "port-credentials"}
			values["events"] = map[string]any{"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/events"}
			objects, err := renderChart(t, values)
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			container := objects["Deployment/exporter-port-aws-exporter"].(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			for _, a := range container["args"].([]any) {
				args = append(args, a.(string))
			}
			return args
		}
		leased := chartArgs(map[string]any{"replicaCount": 3, "syncLease": map[string]any{"url": "s3://port-exporter-config/sync-lease.json"}})
		if !slices.Contains(leased, "--sync-lease") {
			t.Errorf("chart args with a sync lease %v lack --sync-lease", leased)
		}
		// --help makes cobra parse every flag and stop: an unknown flag or a
		// bad value fails here instead of in a crash-looping pod.
		for name, args := range map[string][]string{"image default": defaultArgs, "chart": chartArgs(map[string]any{}), "chart with a sync lease": leased} {
			argv := append(append(slices.Clone(entrypoint[1:]), args...), "--help")
			out, err := exec.Command(exe, argv...).CombinedOutput()
			if err != nil {
				t.Errorf("%s: port-aws-exporter %v: %v\n%s", name, argv, err, out)
			}
		}
		// The Terraform example uploads this config.json.
		example := "terraform/examples/complete/config.json"
		if out, err := exec.Command(exe, "config", "validate", "--config", example).CombinedOutput(); err != nil {
			t.Errorf("config validate %s: %v\n%s", example, err, out)
		}
		// And a flag serve does not have fails, so the check above can fail.
		if out, err := exec.Command(exe, "serve", "--no-such-flag", "--help").CombinedOutput(); err == nil {
			t.Errorf("serve accepted an unknown flag:\n%s", out)
		}
	})
}
