package deploy_test

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// releaseTag is the tag the test's clone is released at.
const releaseTag = "v1.2.3-releasetest"

// TestRelease runs scripts/release.sh from a clean state: a fresh git
// repository holding this work tree's files, one commit, tagged releaseTag.
// It checks that every artefact exists, that sha256sum -c verifies them, that
// the binary's version is the tag, that each SBOM lists the modules
// `go version -m` reads from its binary, and that the Lambda zips, the image
// and the chart carry that same build.
//
// Targets: the host's and linux/arm64 (the Lambda default) by default; the
// full matrix (plus darwin/amd64 and darwin/arm64) with LONG_TESTS=1, as in
// CI. With a warm build cache each target costs a link (a few seconds); a
// cold cache compiles ~500 packages per target (about a minute each on 2 cores).
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release; skipped with -short")
	}
	t.Parallel()
	crane := findTool(t, "crane", "CRANE")
	helmBin := findTool(t, "helm", "HELM")
	for _, tool := range []string{"git", "sha256sum", "zip", "unzip", "gzip", "tar"} {
		findTool(t, tool, strings.ToUpper(tool))
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	targets := []string{"linux/amd64", "linux/arm64"}
	if os.Getenv("LONG_TESTS") == "1" {
		targets = append(targets, "darwin/amd64", "darwin/arm64")
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	if !slices.Contains(targets, host) {
		targets = append(targets, host)
	}

	clone := cleanTaggedClone(t, releaseTag)
	dist := filepath.Join(t.TempDir(), "release")
	cmd := exec.Command(filepath.Join(clone, "scripts", "release.sh"), "--targets", strings.Join(targets, ","))
	cmd.Dir = clone
	cmd.Env = append(withoutVersionEnv(os.Environ()), "DIST="+dist, "GO="+goCmd, "CRANE="+crane)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	t.Logf("release.sh:\n%s", out)
	commit := strings.TrimSpace(gitOutput(t, clone, "rev-parse", "HEAD"))

	want := []string{"SHA256SUMS", "port-aws-exporter-image.tar", "port-aws-exporter-chart-1.2.3-releasetest.tgz"}
	for _, p := range targets {
		base := "port-aws-exporter_" + releaseTag + "_" + strings.ReplaceAll(p, "/", "_")
		want = append(want, base+".tar.gz", base+".cdx.json")
		if strings.HasPrefix(p, "linux/") {
			want = append(want, "bootstrap-"+strings.TrimPrefix(p, "linux/")+".zip")
		}
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("artefacts\n got %q\nwant %q", got, want)
	}

	t.Run("sha256sum -c verifies every artefact", func(t *testing.T) {
		check := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
		check.Dir = dist
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
		sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			_, name, _ := strings.Cut(line, "  ")
			listed = append(listed, name)
		}
		slices.Sort(listed)
		if wantListed := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "SHA256SUMS" }); !slices.Equal(listed, wantListed) {
			t.Errorf("SHA256SUMS lists %q, want %q", listed, wantListed)
		}
		// A changed byte must fail the check, or the step above proves nothing.
		tampered := t.TempDir()
		for _, name := range []string{"SHA256SUMS", "bootstrap-arm64.zip"} {
			data, _ := os.ReadFile(filepath.Join(dist, name))
			if name != "SHA256SUMS" {
				data[len(data)/2] ^= 1
			}
			if err := os.WriteFile(filepath.Join(tampered, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check = exec.Command("sha256sum", "-c", "--ignore-missing", "SHA256SUMS")
		check.Dir = tampered
		if out, err := check.CombinedOutput(); err == nil {
			t.Errorf("sha256sum -c passed a changed zip:\n%s", out)
		}
	})

	binaries := map[string][]byte{}
	for _, p := range targets {
		binaries[p] = binaryFromArchive(t, filepath.Join(dist, "port-aws-exporter_"+releaseTag+"_"+strings.ReplaceAll(p, "/", "_")+".tar.gz"))
	}

	t.Run("static binaries for each platform", func(t *testing.T) {
		for p, bin := range binaries {
			os, arch, _ := strings.Cut(p, "/")
			switch os {
			case "linux":
				exe, err := elf.NewFile(bytes.NewReader(bin))
				if err != nil {
					t.Fatalf("%s: not ELF: %v", p, err)
				}
				if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]; exe.Machine != want {
					t.Errorf("%s: machine %v, want %v", p, exe.Machine, want)
				}
				for _, prog := range exe.Progs {
					if prog.Type == elf.PT_INTERP {
						t.Errorf("%s: dynamically linked", p)
					}
				}
			case "darwin":
				exe, err := macho.NewFile(bytes.NewReader(bin))
				if err != nil {
					t.Fatalf("%s: not Mach-O: %v", p, err)
				}
				if want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[arch]; exe.Cpu != want {
					t.Errorf("%s: cpu %v, want %v", p, exe.Cpu, want)
				}
			}
			// 20 MB today; a text/template in reach of the linker (cobra's
			// SetVersionTemplate, say) keeps every exported method and adds half.
			if len(bin) > 26<<20 {
				t.Errorf("%s: %d bytes: the binary grew by half; did something disable the linker's dead-code elimination?", p, len(bin))
			}
		}
	})

	hostExe := filepath.Join(t.TempDir(), "port-aws-exporter")
	if err := os.WriteFile(hostExe, binaries[host], 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("version prints the tag, commit and date", func(t *testing.T) {
		out, err := exec.Command(hostExe, "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		var info struct{ Version, Commit, Date, Platform string }
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatalf("version -o json: %v\n%s", err, out)
		}
		if info.Version != releaseTag || info.Commit != commit || info.Date != "2026-01-01T00:00:00Z" || info.Platform != host {
			t.Errorf("version %+v, want %s, commit %s, date 2026-01-01T00:00:00Z, %s", info, releaseTag, commit, host)
		}
		for _, args := range [][]string{{"version"}, {"--version"}} {
			out, err := exec.Command(hostExe, args...).Output()
			if err != nil || !strings.Contains(string(out), releaseTag) || !strings.Contains(string(out), commit) {
				t.Errorf("%v: %v\n%s", args, err, out)
			}
		}
	})

	t.Run("SBOMs list the modules of their binaries", func(t *testing.T) {
		for _, p := range targets {
			base := "port-aws-exporter_" + releaseTag + "_" + strings.ReplaceAll(p, "/", "_")
			exe := filepath.Join(t.TempDir(), base)
			if err := os.WriteFile(exe, binaries[p], 0o755); err != nil {
				t.Fatal(err)
			}
			mods, goVersion := goVersionM(t, goCmd, exe)
			if len(mods) < 50 {
				t.Fatalf("%s: go version -m lists %d modules; the exporter links over 100", p, len(mods))
			}
			raw, err := os.ReadFile(filepath.Join(dist, base+".cdx.json"))
			if err != nil {
				t.Fatal(err)
			}
			var bom struct {
				BOMFormat, SpecVersion string
				Metadata               struct {
					Component struct{ Name, Version string }
				}
				Components []struct{ Name, Version, PURL string }
			}
			if err := json.Unmarshal(raw, &bom); err != nil {
				t.Fatalf("%s.cdx.json: %v", base, err)
			}
			if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Name != "github.com/port-labs/port-aws-exporter" || bom.Metadata.Component.Version != releaseTag {
				t.Errorf("%s.cdx.json: format %q, main %+v", base, bom.BOMFormat, bom.Metadata.Component)
			}
			listed := map[string]string{}
			for _, c := range bom.Components {
				listed[c.Name] = c.Version
			}
			for path, version := range mods {
				if listed[path] != version {
					t.Errorf("%s.cdx.json: module %s@%s missing (listed %q)", base, path, version, listed[path])
				}
			}
			if listed["std"] != goVersion {
				t.Errorf("%s.cdx.json: std at %q, want %s", base, listed["std"], goVersion)
			}
			if len(bom.Components) != len(mods)+1 {
				t.Errorf("%s.cdx.json: %d components for %d modules and std", base, len(bom.Components), len(mods))
			}
		}
	})

	t.Run("the Lambda zips hold the release's Linux binaries", func(t *testing.T) {
		for _, p := range targets {
			arch, ok := strings.CutPrefix(p, "linux/")
			if !ok {
				continue
			}
			zr, err := zip.OpenReader(filepath.Join(dist, "bootstrap-"+arch+".zip"))
			if err != nil {
				t.Fatal(err)
			}
			if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
				t.Fatalf("bootstrap-%s.zip: entries %v, want one executable bootstrap", arch, zr.File)
			}
			rc, _ := zr.File[0].Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			zr.Close()
			if !bytes.Equal(data, binaries[p]) {
				t.Errorf("bootstrap-%s.zip: not the release's %s binary", arch, p)
			}
		}
	})

	t.Run("the image holds the linux/amd64 binary under the chart's default name", func(t *testing.T) {
		img := readOCI(t, filepath.Join(dist, "port-aws-exporter-image.tar"))
		if !bytes.Equal(img.data["/usr/local/bin/port-aws-exporter"], binaries["linux/amd64"]) {
			t.Error("the image's binary is not the release's linux/amd64 binary")
		}
		index := ociIndex(t, filepath.Join(dist, "port-aws-exporter-image.tar"))
		name := index.Manifests[0].Annotations["io.containerd.image.name"]
		if name != "ghcr.io/port-labs/port-aws-exporter:"+releaseTag || index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != releaseTag {
			t.Errorf("image annotations %v, want the chart's default image at %s", index.Manifests[0].Annotations, releaseTag)
		}
		if manifest := img.blobs[index.Manifests[0].Digest]; int64(len(manifest)) != index.Manifests[0].Size {
			t.Errorf("index.json gives the manifest %d bytes; the blob has %d", index.Manifests[0].Size, len(manifest))
		}

		// The packaged chart's default image is exactly that name.
		chartTgz := filepath.Join(dist, "port-aws-exporter-chart-1.2.3-releasetest.tgz")
		helmDir := t.TempDir()
		render := exec.Command(helmBin, "template", "exporter", chartTgz, "--set", "port.existingSecret=port-credentials",
			"--set", "events.queueUrl=https://sqs.eu-west-1.amazonaws.com/123456789012/events")
		render.Env = append(os.Environ(), "HELM_CACHE_HOME="+helmDir, "HELM_CONFIG_HOME="+helmDir, "HELM_DATA_HOME="+helmDir)
		var stderr bytes.Buffer
		render.Stderr = &stderr
		rendered, err := render.Output()
		if err != nil {
			t.Fatalf("helm template %s: %v\n%s", chartTgz, err, stderr.String())
		}
		var images []string
		for _, doc := range strings.Split(string(rendered), "\n---") {
			var obj struct {
				Kind string
				Spec struct {
					Template struct {
						Spec struct{ Containers []struct{ Image string } }
					}
				}
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err == nil && obj.Kind == "Deployment" {
				for _, c := range obj.Spec.Template.Spec.Containers {
					images = append(images, c.Image)
				}
			}
		}
		if !slices.Equal(images, []string{name}) {
			t.Errorf("the packaged chart runs %q, want the release's image %s", images, name)
		}
	})
}

// cleanTaggedClone is a new git repository holding this work tree's files
// (tracked and untracked, not ignored: what a commit of it would hold), one
// commit dated 2026-01-01, tagged tag: the state a release starts from.
func cleanTaggedClone(t *testing.T, tag string) string {
	t.Helper()
	root := repoRoot(t)
	files := gitOutput(t, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	clone := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(files, "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(clone, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	const date = "2026-01-01T00:00:00Z"
	env := []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date,
		"GIT_AUTHOR_NAME=release test", "GIT_AUTHOR_EMAIL=release@test.invalid",
		"GIT_COMMITTER_NAME=release test", "GIT_COMMITTER_EMAIL=release@test.invalid"}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "--no-gpg-sign", "-m", "release test"}, {"tag", tag},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = clone
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return clone
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v in %s: %v", args, dir, err)
	}
	return string(out)
}

// withoutVersionEnv drops variables that would override what the release
// reads from the clone.
func withoutVersionEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "VERSION" || name == "SOURCE_DATE_EPOCH" || name == "DIST"
	})
}

// binaryFromArchive is the port-aws-exporter entry of a release tar.gz, which
// must hold exactly it, executable.
func binaryFromArchive(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	var bin []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Name != "port-aws-exporter" || h.FileInfo().Mode().Perm() != 0o755 || bin != nil {
			t.Fatalf("%s: entry %s %v, want only an executable port-aws-exporter", path, h.Name, h.FileInfo().Mode())
		}
		bin, _ = io.ReadAll(tr)
	}
	if bin == nil {
		t.Fatalf("%s: no port-aws-exporter", path)
	}
	return bin
}

// goVersionM is what `go version -m` reads from a binary: the linked modules
// (path to version, replacements resolved) and the Go version.
func goVersionM(t *testing.T, goCmd, exe string) (map[string]string, string) {
	t.Helper()
	out, err := exec.Command(goCmd, "version", "-m", exe).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", exe, err)
	}
	mods := map[string]string{}
	goVersion, lastDep := "", ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case goVersion == "" && len(fields) == 2 && strings.HasSuffix(fields[0], ":"):
			goVersion = fields[1]
		case len(fields) >= 3 && fields[0] == "dep":
			mods[fields[1]], lastDep = fields[2], fields[1]
		case len(fields) >= 3 && fields[0] == "=>":
			// the dep above is replaced: the SBOM names the replacement
			delete(mods, lastDep)
			mods[fields[1]] = fields[2]
		}
	}
	return mods, goVersion
}

type ociIndexFile struct {
	Manifests []struct {
		Digest      string
		Size        int64
		Annotations map[string]string
	}
}

func ociIndex(t *testing.T, path string) ociIndexFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no index.json (%v)", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") == "index.json" {
			var idx ociIndexFile
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != 1 {
				t.Fatalf("index.json: %d manifests, want 1", len(idx.Manifests))
			}
			return idx
		}
	}
}
