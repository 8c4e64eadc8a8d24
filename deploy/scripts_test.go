package deploy_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsPassShellcheck lints the shell scripts the deployment uses
// (shellcheck is Debian's package of that name).
func TestScriptsPassShellcheck(t *testing.T) {
	shellcheck := findOptionalTool(t, "shellcheck", "SHELLCHECK")
	scripts, err := filepath.Glob(filepath.Join(repoRoot(t), "scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no scripts/*.sh found")
	}
	out, err := exec.Command(shellcheck, append([]string{"--severity=style"}, scripts...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}
