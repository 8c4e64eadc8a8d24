// Package moto finds and starts moto_server (the Python AWS emulator) for tests
// that need real AWS APIs other than Cloud Control: STS, SQS, S3, Secrets Manager,
// EventBridge.
//
// One moto_server is shared by every test in a test binary: starting it costs
// about half a second of Python imports, which adds up over dozens of tests.
// Start resets moto's state when no other test currently holds the server, so
// sequential tests start from an empty account; tests that run in parallel
// (t.Parallel) share state and must use distinct resource names. The process
// is stopped when the test binary exits (Linux parent-death signal), not when
// a single test ends.
package moto

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// EnvBinary names the environment variable that points at a moto_server binary.
const EnvBinary = "MOTO_SERVER"

// pyenvBinary is where the development machine's pyenv installs moto_server.
const pyenvBinary = "/root/.pyenv/versions/3.11.7/bin/moto_server"

// AccountID is the account moto reports for any credentials.
const AccountID = "123456789012"

// startTimeout bounds how long moto_server may take to answer its first request.
const startTimeout = 30 * time.Second

// Server is a running moto_server.
type Server struct {
	// URL is the base endpoint, e.g. http://127.0.0.1:41234.
	URL string

	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
}

var (
	sharedMu    sync.Mutex
	shared      *Server
	sharedErr   error
	sharedUsers int
)

// Start returns the test binary's shared moto_server, starting it on first use.
// It skips the test when moto_server cannot be found, unless CI=true or
// REQUIRE_TEST_PEERS=1, where a missing peer fails the test instead.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		if required() {
			t.Fatalf("moto_server not found (required because CI=true or REQUIRE_TEST_PEERS=1): %v", err)
		}
		t.Skipf("moto_server not found: %v (set %s, put it on PATH, or install moto[server])", err, EnvBinary)
	}

	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil && shared.hasExited() {
		// A crashed server is not reused; the next caller gets a fresh one.
		shared, sharedErr = nil, nil
	}
	if shared == nil && sharedErr == nil {
		shared, sharedErr = launch(bin)
	}
	if sharedErr != nil {
		t.Fatalf("start moto_server: %v", sharedErr)
	}
	if sharedUsers == 0 {
		if err := shared.Reset(); err != nil {
			t.Fatalf("reset moto_server: %v", err)
		}
	}
	sharedUsers++
	t.Cleanup(func() {
		sharedMu.Lock()
		sharedUsers--
		sharedMu.Unlock()
	})
	return shared
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("REQUIRE_TEST_PEERS") == "1"
}

// findBinary looks in $MOTO_SERVER, then PATH, then the pyenv install.
func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(pyenvBinary); err == nil {
		return pyenvBinary, nil
	}
	return "", fmt.Errorf("not in $%s, PATH or %s", EnvBinary, filepath.Dir(pyenvBinary))
}

// launch starts moto_server on a free loopback port, retrying when another
// process grabs the port between our probe and moto's bind.
func launch(bin string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launchOn(bin, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launchOn(bin string, port int) (*Server, error) {
	s := &Server{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		output: &lockedBuffer{},
		exited: make(chan struct{}),
	}
	started := make(chan error, 1)
	// The parent-death signal fires when the thread that forked the child exits,
	// so the fork happens on a thread locked for the child's whole life: moto
	// then dies with the test binary and never outlives it.
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Stdout = s.output
		cmd.Stderr = s.output
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("run %s: %w", bin, err)
			close(s.exited)
			return
		}
		s.cmd = cmd
		started <- nil
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	if err := s.waitReady(startTimeout); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("moto_server exited before it was ready: %s", s.output.tail(2000))
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("moto_server on %s not ready after %s: %s", s.URL, timeout, s.output.tail(2000))
}

func (s *Server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.exited
}

// Reset drops every resource in every account and region of the server.
func (s *Server) Reset() error {
	req, err := http.NewRequest(http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("build moto reset request: %w", err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("reset moto at %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto at %s: HTTP %d", s.URL, resp.StatusCode)
	}
	return nil
}

// AWSConfig returns an SDK configuration aimed at this server: dummy static
// credentials, every service's BaseEndpoint set to the server, and a standard
// retryer with few attempts so a broken test fails fast. It deliberately
// ignores the environment and shared config files, so a developer's real AWS
// profile can never be used by a test.
func (s *Server) AWSConfig(ctx context.Context, region string) aws.Config {
	_ = ctx // kept for symmetry with config.LoadDefaultConfig; nothing here does I/O
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDMOTOTESTING", "moto-test-secret", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 200 * time.Millisecond
			})
		},
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}
}

// lockedBuffer keeps moto's output for error messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep memory bounded: moto logs one line per request.
	if b.buf.Len() > 1<<20 {
		tail := b.buf.Bytes()[b.buf.Len()-64<<10:]
		b.buf = *bytes.NewBuffer(append([]byte(nil), tail...))
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
