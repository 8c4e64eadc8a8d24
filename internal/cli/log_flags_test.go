package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The log flags are added by the commands that log; a command without them
// still gets a logger (info, format auto) rather than a nil dereference.
func TestNewLoggerWithoutLogFlags(t *testing.T) {
	cmd := &cobra.Command{Use: "plain"}
	var buf bytes.Buffer
	log := NewLogger(cmd, &buf)
	log.Debug("hidden")
	log.Info("shown", "k", "v")
	if out := buf.String(); !strings.Contains(out, "shown") || strings.Contains(out, "hidden") {
		t.Errorf("log output %q: want info and above only", out)
	}
	if LogLevel(cmd) != "info" {
		t.Errorf("LogLevel = %q, want info", LogLevel(cmd))
	}

	withFlags := &cobra.Command{Use: "logs"}
	AddLogFlags(withFlags.Flags())
	if err := withFlags.Flags().Parse([]string{"--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	NewLogger(withFlags, &buf).Debug("now shown")
	if !strings.Contains(buf.String(), "now shown") || LogLevel(withFlags) != "debug" {
		t.Errorf("--log-level debug: %q, level %q", buf.String(), LogLevel(withFlags))
	}
}
