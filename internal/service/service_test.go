package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/controller"
)

// fakeConsumer runs until ctx ends and reports the health it is given.
type fakeConsumer struct {
	mu      sync.Mutex
	last    time.Time
	err     error
	stopped chan struct{}
	runErr  error
}

func (c *fakeConsumer) Run(ctx context.Context) error {
	<-ctx.Done()
	close(c.stopped)
	return c.runErr
}

func (c *fakeConsumer) Healthy() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.err
}

func (c *fakeConsumer) set(last time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.err = last, err
}

type countingSync struct{ runs atomic.Int32 }

func (s *countingSync) Run(context.Context) (controller.Report, error) {
	s.runs.Add(1)
	return controller.Report{}, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The service serves /healthz from the consumer's health and /metrics from
// its registry, runs the full sync at start, and on cancel stops the
// consumer and the HTTP server and returns the consumer's error.
func TestServiceRunServesAndStops(t *testing.T) {
	reg := prometheus.NewRegistry()
	probe := prometheus.NewCounter(prometheus.CounterOpts{Name: "service_test_probe_total", Help: "probe"})
	reg.MustRegister(probe)
	probe.Inc()
	consumer := &fakeConsumer{stopped: make(chan struct{}), runErr: errors.New("consumer says bye")}
	consumer.set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil)
	syncer := &countingSync{}
	addrs := make(chan net.Addr, 1)
	svc := &Service{
		Consumer: consumer, Sync: syncer, SyncInterval: time.Hour, Listen: "127.0.0.1:0",
		Registry: reg, Logger: slog.New(slog.DiscardHandler), OnListen: func(a net.Addr) { addrs <- a },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run returned before listening: %v", err)
	}

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok":true`) || !strings.Contains(body, `"last_poll":"2026-01-02T03:04:05Z"`) {
		t.Errorf("/healthz healthy: %d %s", code, body)
	}
	consumer.set(time.Time{}, errors.New("AccessDenied on ReceiveMessage"))
	if code, body := get(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"ok":false`) || !strings.Contains(body, "AccessDenied") {
		t.Errorf("/healthz failing: %d %s", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "service_test_probe_total 1") {
		t.Errorf("/metrics: %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syncer.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := syncer.runs.Load(); n != 1 {
		t.Errorf("full sync ran %d times in the first hour, want 1 (at start)", n)
	}

	cancel()
	select {
	case err := <-done:
		if err == nil || err.Error() != "consumer says bye" {
			t.Errorf("Run returned %v, want the consumer's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel")
	}
	<-consumer.stopped
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the HTTP server still answers after Run returned")
	}
}

// An interval of 0 disables the full sync; a taken address is an error naming it.
func TestServiceWithoutSyncAndOnATakenAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	syncer := &countingSync{}
	svc := &Service{Consumer: &fakeConsumer{stopped: make(chan struct{})}, Sync: syncer, Listen: l.Addr().String(), Registry: prometheus.NewRegistry()}
	if err := svc.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen on "+l.Addr().String()) {
		t.Fatalf("Run on a taken address: %v", err)
	}

	svc.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := svc.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := syncer.runs.Load(); n != 0 {
		t.Errorf("full sync ran %d times with interval 0, want none", n)
	}
}
