package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pyenvBin is where the development machines keep the Python tools (cfn-lint,
// moto_server); a tool is found through its environment variable, PATH, then here.
const pyenvBin = "/root/.pyenv/versions/3.11.7/bin"

// peersRequired is true in CI, where a missing tool is a failure, not a skip.
func peersRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("REQUIRE_TEST_PEERS") == "1"
}

// findTool returns the path of a tool the project's test peers include
// (cfn-lint) or skips the test (fails it in CI) with a message naming what is
// missing.
func findTool(t *testing.T, name, envVar string) string {
	t.Helper()
	return lookTool(t, name, envVar, peersRequired())
}

// findOptionalTool is findTool for tools a new machine may lack and cannot
// always install (terraform is not in Debian): a missing one always skips.
func findOptionalTool(t *testing.T, name, envVar string) string {
	t.Helper()
	return lookTool(t, name, envVar, false)
}

func lookTool(t *testing.T, name, envVar string, required bool) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", envVar, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(pyenvBin, name); fileExists(p) {
		return p
	}
	msg := name + " not found (looked at $" + envVar + ", PATH and " + pyenvBin + ")"
	if required {
		t.Fatal(msg + "; required because CI=true or REQUIRE_TEST_PEERS=1")
	}
	t.Skip(msg + "; skipping")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// repoRoot is the module root; tests run in deploy/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
