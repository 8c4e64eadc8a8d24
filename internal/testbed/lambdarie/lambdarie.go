// Package lambdarie runs a Lambda bootstrap binary under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie), so that tests exercise the real
// Lambda runtime API: the bootstrap polls for invocations, answers them, and
// sees the deadline and request id exactly as on AWS.
package lambdarie

import (
	"bytes"
	"context"
	"fmt"
	"github.com/port-labs/port-aws-exporter/internal/testbed/output"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvBinary names the environment variable that points at aws-lambda-rie.
const EnvBinary = "AWS_LAMBDA_RIE"

// Module is the emulator's module and the version the project pins (the same
// as .ci/run installs).
const Module = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// invokePath is the emulator's invoke route (the Lambda Invoke API's path).
const invokePath = "/2015-03-31/functions/function/invocations"

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("REQUIRE_TEST_PEERS") == "1"
}

// Find returns the path of aws-lambda-rie: $AWS_LAMBDA_RIE, PATH, then
// $(go env GOPATH)/bin. Under CI=true it installs the pinned version with
// `go install` when none is found.
func Find(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", EnvBinary, p, err)
		}
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	gobin := goBin()
	candidate := filepath.Join(gobin, "aws-lambda-rie")
	if _, err := os.Stat(candidate); err == nil {
		return candidate
	}
	if os.Getenv("CI") == "true" {
		cmd := exec.Command("go", "install", Module)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go install %s: %v\n%s", Module, err, out)
		}
		return candidate
	}
	msg := fmt.Sprintf("aws-lambda-rie not found (set %s, put it on PATH, or `go install %s`)", EnvBinary, Module)
	if required() {
		t.Fatal(msg + " (required because CI=true or REQUIRE_TEST_PEERS=1)")
	}
	t.Skip(msg)
	return ""
}

func goBin() string {
	if b := os.Getenv("GOBIN"); b != "" {
		return b
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return filepath.Join(os.Getenv("HOME"), "go", "bin")
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin")
}

// BuildBootstrap builds pkg (a Go package path, e.g. the exporter's
// ./cmd/port-aws-exporter relative to the module root) as a static Linux
// binary named bootstrap, as the provided.al2023 runtime runs it.
func BuildBootstrap(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	cmd.Dir = moduleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap from %s: %v\n%s", pkg, err, b)
	}
	return out
}

func moduleRoot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		t.Fatalf("find module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// Emulator is a running aws-lambda-rie with one function.
type Emulator struct {
	// URL is the emulator's base URL, e.g. http://127.0.0.1:41234.
	URL    string
	output *output.Buffer
}

// Options configure a function under the emulator.
type Options struct {
	// Env is the function's environment (added to a minimal base: PATH, HOME).
	Env map[string]string
	// Timeout is the function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT); default 60 s.
	Timeout time.Duration
}

// Start runs bootstrap under the emulator on loopback ports and stops it when
// the test ends. The function environment does not inherit the test's: only
// what opts.Env says reaches the function, as on AWS.
func Start(t testing.TB, rie, bootstrap string, opts Options) *Emulator {
	t.Helper()
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	emuPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", emuPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		bootstrap)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(opts.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_NAME=port-aws-exporter", "LOG_LEVEL=warn"}
	for k, v := range opts.Env {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	cmd.Dir = filepath.Dir(bootstrap)
	e := &Emulator{URL: fmt.Sprintf("http://127.0.0.1:%d", emuPort), output: &output.Buffer{}}
	cmd.Stdout, cmd.Stderr = e.output, e.output
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", rie, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("aws-lambda-rie and function output:\n%s", e.Output())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", emuPort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("aws-lambda-rie exited at start:\n%s", e.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie did not listen within 10 s:\n%s", e.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e
}

// Invoke sends one invocation and returns the function's answer. A function
// error (the handler returned an error) comes back as a body with errorType
// and errorMessage, as the Invoke API returns it; err is for transport failures.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+invokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("build invoke request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke function at %s: %w", e.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read invoke answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke function: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// Output returns what the emulator and the function printed so far.
func (e *Emulator) Output() string { return e.output.String() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
