package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/cli"
)

// cliEnvironment is every variable the CLI reads; each case starts with all of
// them cleared, so the developer's own environment cannot change an outcome.
var cliEnvironment = []string{
	"SYNC_CONCURRENCY", "MAX_DELETE_SHARE", "SYNC_POLICY", "AWS_REQUESTS_PER_SECOND", "PORT_REQUESTS_PER_SECOND",
	"EVENT_CONCURRENCY", "EVENTS_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "LOG_LEVEL", "LOG_FORMAT",
	"CONFIG_URL", "BUCKET_NAME", "CONFIG_JSON_FILE_KEY", "AWS_LAMBDA_RUNTIME_API", "_LAMBDA_SERVER_PORT",
	"PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "PORT_CREDS_SECRET_ARN",
}

type badInputCase struct {
	Name string            `json:"name"`
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
	Err  []string          `json:"err"`
	Exit int               `json:"exit"`
}

// isolateCLIEnvironment clears the CLI's variables and keeps the AWS SDK
// away from the developer's profiles and the instance metadata service.
func isolateCLIEnvironment(t *testing.T) {
	t.Helper()
	for _, name := range cliEnvironment {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBADINPUT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "bad-input-secret")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestBadInputFailsWithAClearError(t *testing.T) {
	raw, err := os.ReadFile("testdata/bad-input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []badInputCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/bad-input.yaml: %v", err)
	}
	// The file holds 33 cases today: an emptied or truncated file must not pass.
	if len(cases) < 33 {
		t.Fatalf("testdata/bad-input.yaml has %d cases, want at least 33", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			isolateCLIEnvironment(t)
			for k, v := range c.Env {
				t.Setenv(k, v)
			}
			out, err := runCLI(t, c.Args...)
			if err == nil {
				t.Fatalf("%v succeeded, want exit %d\n%s", c.Args, c.Exit, out)
			}
			if got := exitCode(err); got != c.Exit {
				t.Errorf("exit code %d, want %d (error: %v)", got, c.Exit, err)
			}
			for _, want := range c.Err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
	if _, err := os.Stat("testdata/bad-input/out.jsonl"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command wrote testdata/bad-input/out.jsonl (stat: %v)", err)
	}
	if _, err := os.Stat("testdata/bad-input/init"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused init created testdata/bad-input/init (stat: %v)", err)
	}
}

// An environment variable is the default of its flag; the command line wins.
func TestEnvironmentVariablesAreFlagDefaults(t *testing.T) {
	isolateCLIEnvironment(t)
	t.Setenv("SYNC_CONCURRENCY", "7")
	t.Setenv("MAX_DELETE_SHARE", "0.25")
	t.Setenv("LOG_LEVEL", "warn")
	root := newRootCommand()
	cmd, args, err := root.Find([]string{"sync", "--max-delete-share", "0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := cli.ApplyEnvironment(cmd); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"concurrency": "7", "max-delete-share": "0.1", "log-level": "warn", "policy": "sync"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %s, want %s", flag, got, want)
		}
	}
	if cmd.Flags().Changed("concurrency") {
		t.Error("--concurrency reads as given on the command line, but it came from SYNC_CONCURRENCY")
	}
}

// Environment variables are outside input: whatever they hold, applying them
// either sets the flag to what the flag parses or fails naming the variable.
func FuzzEnvironmentVariables(f *testing.F) {
	for _, seed := range []string{"4", "0.5", "abc", "50%", "-1", "1e309", "NaN", " 7 ", "upsert-only", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsRune(value, 0) {
			t.Skip("environment variables cannot hold NUL")
		}
		if value == "" {
			t.Skip("an empty variable counts as unset")
		}
		isolateCLIEnvironment(t)
		vars := map[string]string{"SYNC_CONCURRENCY": "concurrency", "MAX_DELETE_SHARE": "max-delete-share", "SYNC_POLICY": "policy", "LOG_LEVEL": "log-level"}
		for env := range vars {
			t.Setenv(env, value)
		}
		root := newRootCommand()
		cmd, _, err := root.Find([]string{"sync"})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		err = cli.ApplyEnvironment(cmd)
		for env, flag := range vars {
			got := cmd.Flags().Lookup(flag).Value.String()
			probe := newRootCommand()
			pc, _, _ := probe.Find([]string{"sync"})
			if err := pc.ParseFlags(nil); err != nil { // merges the persistent --log-level
				t.Fatal(err)
			}
			setErr := pc.Flags().Set(flag, value)
			switch {
			case setErr != nil && (err == nil || !strings.Contains(err.Error(), env)):
				t.Errorf("%s=%q does not parse for --%s (%v), but the error %v does not name it", env, value, flag, setErr, err)
			case setErr == nil && got != pc.Flags().Lookup(flag).Value.String():
				t.Errorf("%s=%q: --%s = %s, want %s", env, value, flag, got, pc.Flags().Lookup(flag).Value.String())
			}
		}
	})
}
