package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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
	if err := applyEnvironment(cmd); err != nil {
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
