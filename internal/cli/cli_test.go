package cli

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// command is a root with the log flags and one subcommand with the sync
// and event flags, parsed from args.
func command(t *testing.T, args ...string) (*cobra.Command, *SyncFlags, *EventFlags) {
	t.Helper()
	root := NewRoot("t", "test", "")
	sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
	s, e := BindSyncFlags(sub.Flags()), BindEventFlags(sub.Flags())
	root.AddCommand(sub)
	cmd, rest, err := root.Find(append([]string{"sub"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	return cmd, s, e
}

func clearEnv(t *testing.T) {
	for _, v := range []string{"SYNC_CONCURRENCY", "MAX_DELETE_SHARE", "SYNC_POLICY", "AWS_REQUESTS_PER_SECOND",
		"PORT_REQUESTS_PER_SECOND", "EVENT_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT"} {
		t.Setenv(v, "")
	}
}

func TestEnvironmentIsTheDefaultAndTheFlagWins(t *testing.T) {
	clearEnv(t)
	t.Setenv("MAX_DELETE_SHARE", "0")
	t.Setenv("SYNC_CONCURRENCY", "9")
	t.Setenv("EVENT_CONCURRENCY", "2")
	t.Setenv("LOG_LEVEL", "debug")
	cmd, s, e := command(t, "--concurrency", "3")
	if err := ApplyEnvironment(cmd); err != nil {
		t.Fatal(err)
	}
	set, err := s.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if set.MaxDeleteShare != 0 || set.Concurrency != 3 {
		t.Errorf("share %v, concurrency %d; want 0 (MAX_DELETE_SHARE) and 3 (the flag over SYNC_CONCURRENCY=9)", set.MaxDeleteShare, set.Concurrency)
	}
	if evs, err := e.Settings(); err != nil || evs.Concurrency != 2 {
		t.Errorf("event settings %+v (%v), want concurrency 2", evs, err)
	}
	if LogLevel(cmd) != "debug" {
		t.Errorf("log level %s, want debug", LogLevel(cmd))
	}
	if cmd.Flags().Changed("max-delete-share") {
		t.Error("--max-delete-share reads as given on the command line, but it came from MAX_DELETE_SHARE")
	}
}

func TestMalformedVariablesAreErrorsNamingThem(t *testing.T) {
	clearEnv(t)
	t.Setenv("SYNC_CONCURRENCY", "four")
	t.Setenv("MAX_DELETE_SHARE", "50%")
	t.Setenv("LOG_FORMAT", "yaml")
	cmd, _, _ := command(t)
	err := ApplyEnvironment(cmd)
	if err == nil {
		t.Fatal("malformed variables were accepted")
	}
	for _, want := range []string{`SYNC_CONCURRENCY="four" (--concurrency)`, `MAX_DELETE_SHARE="50%" (--max-delete-share)`, `LOG_FORMAT="yaml" (--log-format)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestHelpNamesTheVariable(t *testing.T) {
	cmd, _, _ := command(t)
	for flag, env := range map[string]string{"concurrency": "SYNC_CONCURRENCY", "max-delete-share": "MAX_DELETE_SHARE", "log-level": "LOG_LEVEL"} {
		if u := cmd.Flags().Lookup(flag).Usage; !strings.HasSuffix(u, "["+env+"]") {
			t.Errorf("--%s help %q does not end with [%s]", flag, u, env)
		}
	}
	if u := cmd.Flags().Lookup("max-delete-share").Usage; !strings.Contains(u, "0 withholds every stale deletion") {
		t.Errorf("--max-delete-share help does not say what 0 does: %q", u)
	}
}

func TestDefaultsComeFromTheFlags(t *testing.T) {
	d := SyncDefaults()
	if d.Concurrency != 4 || d.MaxDeleteShare != 0.5 || !math.IsInf(d.AWSRequestsPerSecond, 1) || !math.IsInf(d.PortRequestsPerSecond, 1) || d.Policy == nil {
		t.Errorf("defaults %+v", d)
	}
	if e := EventDefaults(); e.Concurrency != 16 {
		t.Errorf("event defaults %+v, want concurrency 16", e)
	}
}

// Off a terminal, auto is JSON with durations as strings; text is logfmt;
// the level filters.
func TestLoggerFormats(t *testing.T) {
	clearEnv(t)
	cmd, _, _ := command(t, "--log-level", "warn")
	var buf bytes.Buffer
	log := NewLogger(cmd, &buf)
	log.Info("hidden")
	log.Warn("shown", "took", 1500*time.Millisecond)
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) || !strings.Contains(out, `"took":"1.5s"`) {
		t.Errorf("auto off a terminal: %q, want JSON at warn with took \"1.5s\"", out)
	}

	cmd, _, _ = command(t, "--log-format", "text")
	buf.Reset()
	NewLogger(cmd, &buf).Info("hello", "took", 2*time.Second)
	if out := buf.String(); !strings.Contains(out, "msg=hello") || !strings.Contains(out, "took=2s") {
		t.Errorf("text: %q", out)
	}
}

func TestAWSRateCeilingFlag(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"none", math.Inf(1), true}, {"NONE", math.Inf(1), true}, {"50", 50, true}, {"0.5", 0.5, true},
		{"0", 0, false}, {"-1", 0, false}, {"fast", 0, false}, {"NaN", 0, false},
	}
	if len(cases) < 8 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		var v ceiling
		err := v.Set(c.in)
		if (err == nil) != c.ok || (c.ok && float64(v) != c.want) {
			t.Errorf("Set(%q) = %v, %v; want %v, ok %v", c.in, float64(v), err, c.want, c.ok)
		}
	}
	if v := ceiling(math.Inf(1)); v.String() != "none" {
		t.Errorf("the default prints %q, want none", v.String())
	}
}
