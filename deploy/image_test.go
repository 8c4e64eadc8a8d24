package deploy_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ociImage is an OCI image layout tarball read back: its blobs by digest.
type ociImage struct {
	blobs    map[string][]byte
	manifest struct {
		Config struct{ Digest string } `json:"config"`
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User         string              `json:"User"`
			Entrypoint   []string            `json:"Entrypoint"`
			Cmd          []string            `json:"Cmd"`
			Env          []string            `json:"Env"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		} `json:"config"`
	}
	files map[string]*tar.Header
	data  map[string][]byte
}

func readOCI(t *testing.T, path string) *ociImage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img := &ociImage{blobs: map[string][]byte{}, files: map[string]*tar.Header{}, data: map[string][]byte{}}
	var index struct {
		Manifests []struct{ Digest, MediaType string } `json:"manifests"`
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		switch name := strings.TrimPrefix(h.Name, "./"); {
		case name == "index.json":
			if err := json.Unmarshal(b, &index); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(name, "blobs/sha256/") && h.Typeflag == tar.TypeReg:
			img.blobs["sha256:"+strings.TrimPrefix(name, "blobs/sha256/")] = b
		}
	}
	if len(index.Manifests) != 1 || index.Manifests[0].MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("index.json manifests %+v, want one OCI image manifest", index.Manifests)
	}
	if err := json.Unmarshal(img.blobs[index.Manifests[0].Digest], &img.manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if err := json.Unmarshal(img.blobs[img.manifest.Config.Digest], &img.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	for _, l := range img.manifest.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(img.blobs[l.Digest]))
		if err != nil {
			t.Fatalf("layer %s (%s): %v", l.Digest, l.MediaType, err)
		}
		lr := tar.NewReader(zr)
		for {
			h, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			img.files[name] = h
			img.data[name], _ = io.ReadAll(lr)
		}
	}
	return img
}

// TestContainerImage builds the image with scripts/build-image.sh (crane, no
// container engine) and inspects the OCI tarball: serve entrypoint, a non-root
// user known to /etc/passwd, a CA bundle where Go looks, and a binary that runs.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	t.Parallel()
	crane := findTool(t, "crane", "CRANE")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dist := t.TempDir()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "build-image.sh"))
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=v0.0.0-imagetest", "GO="+goCmd, "CRANE="+crane, "SOURCE_DATE_EPOCH=1767225600")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	path := filepath.Join(dist, "port-aws-exporter-image.tar")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image tarball: %.1f MiB", float64(st.Size())/(1<<20))
	img := readOCI(t, path)

	c := img.config.Config
	if img.config.OS != "linux" || img.config.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", img.config.OS, img.config.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/port-aws-exporter", "serve"}) {
		t.Errorf("Entrypoint %q, want the binary's serve", c.Entrypoint)
	}
	if _, ok := c.ExposedPorts[metricsPort+"/tcp"]; !ok {
		t.Errorf("ExposedPorts %v lacks %s/tcp", c.ExposedPorts, metricsPort)
	}
	uid, err := strconv.Atoi(strings.SplitN(c.User, ":", 2)[0])
	if err != nil || uid == 0 {
		t.Fatalf("User %q: want a numeric non-root uid (Kubernetes' runAsNonRoot checks a number)", c.User)
	}
	if !strings.Contains(string(img.data["/etc/passwd"]), ":"+strconv.Itoa(uid)+":") {
		t.Errorf("/etc/passwd has no user %d:\n%s", uid, img.data["/etc/passwd"])
	}
	if h := img.files["/tmp"]; h == nil || h.FileInfo().Mode().Perm() != 0o777 || h.FileInfo().Mode()&os.ModeSticky == 0 {
		t.Errorf("/tmp missing or not 1777: %+v", h)
	}

	// Go's crypto/x509 reads /etc/ssl/certs/ca-certificates.crt first on Linux.
	bundle := img.data["/etc/ssl/certs/ca-certificates.crt"]
	if n := bytes.Count(bundle, []byte("BEGIN CERTIFICATE")); n < 50 {
		t.Fatalf("CA bundle holds %d certificates, want a real bundle", n)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(bundle) {
		t.Error("the CA bundle does not parse")
	}

	bin := img.data["/usr/local/bin/port-aws-exporter"]
	if h := img.files["/usr/local/bin/port-aws-exporter"]; h == nil || h.FileInfo().Mode().Perm() != 0o755 || h.Uid != 0 {
		t.Fatalf("binary entry %+v: want root-owned 0755", h)
	}
	t.Logf("binary: %.1f MiB", float64(len(bin))/(1<<20))
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the image's linux/amd64 binary cannot run on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	exe := filepath.Join(t.TempDir(), "port-aws-exporter")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v0.0.0-imagetest") {
		t.Fatalf("the image's binary --version: %v\n%s", err, out)
	}
}
