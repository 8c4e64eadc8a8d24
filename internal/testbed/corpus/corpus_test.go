package corpus

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sharedDir is the project's shared folder: $PORT_AWS_EXPORTER_SHARED_DIR, or
// shared/ beside the repository (where CI and the lead's checkout have it).
func sharedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PORT_AWS_EXPORTER_SHARED_DIR"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), "..", "shared")
}

func repoRoot(t *testing.T) string {
	t.Helper()
	d := dir()
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatal("no go.mod above " + dir())
		}
		d = parent
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// The copies are the originals, byte for byte, and the same set of files.
func TestCopiesEqualTheSharedOriginals(t *testing.T) {
	shared := sharedDir(t)
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no shared folder at %s (%v): the copies here are used as they are", shared, err)
	}
	originals := filepath.Join(shared, "testdata", "cloudtrail")
	want, got := files(t, originals), files(t, CloudTrailDir())
	if !slices.Equal(want, got) {
		t.Errorf("the CloudTrail copy has files %q; %s has %q", got, originals, want)
	}
	pairs := map[string]string{filepath.Join(shared, "spec", "seed-event-rule-template.yaml"): SeedTemplate()}
	for _, name := range want {
		pairs[filepath.Join(originals, name)] = CloudTrailRecord(name)
	}
	if len(pairs) < 20 {
		t.Fatalf("%d files compared, want the 24 records, SOURCES.md and the template", len(pairs))
	}
	for original, copied := range pairs {
		a, err := os.ReadFile(original)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(copied)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: copy it again", copied, original)
		}
	}
}

// Other packages keep their own copies of the template and of some records
// next to their tests; they must stay the originals too.
func TestOtherCopiesEqualThisOne(t *testing.T) {
	seed, err := os.ReadFile(SeedTemplate())
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	compared := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || path == filepath.Join(root, "internal", "testbed", "corpus")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.Contains(filepath.ToSlash(path), "/testdata/") {
			return nil
		}
		var want []byte
		switch name := d.Name(); {
		case name == "seed-event-rule-template.yaml":
			want = seed
		case strings.HasSuffix(name, ".json") && (strings.HasSuffix(filepath.Dir(path), filepath.Join("testdata", "cloudtrail")) ||
			strings.HasSuffix(filepath.Dir(path), filepath.Join("testdata", "attacks", "records"))):
			if want, err = os.ReadFile(CloudTrailRecord(name)); err != nil {
				t.Errorf("%s: no such record in the corpus", path)
				return nil
			}
		default:
			return nil
		}
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the corpus's copy", path)
		}
		compared++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Four copies of the template, six records in internal/rules/ruletest and
	// 23 in internal/dispatch today.
	if compared < 33 {
		t.Errorf("compared %d copies, want at least 33: did the walk miss them?", compared)
	}
}
