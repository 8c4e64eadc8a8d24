// Package service is the long-running exporter (the serve command): the
// events queue consumer, the periodic full sync, /healthz and /metrics, and
// a graceful stop.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/lease"
)

// Consumer is the events queue consumer (a *queue.Consumer).
type Consumer interface {
	// Run consumes until ctx ends, then drains and returns.
	Run(ctx context.Context) error
	// Healthy is the time of the last successful poll and the last poll's error.
	Healthy() (lastPoll time.Time, err error)
}

// FullSync runs one full sync (a *controller.Controller).
type FullSync interface {
	Run(ctx context.Context) (controller.Report, error)
}

// ShutdownTimeout bounds how long the HTTP server may take to close once
// the consumer has stopped.
const ShutdownTimeout = 5 * time.Second

// Service is the serve command's loop.
type Service struct {
	Consumer Consumer
	// Sync runs at start and then every SyncInterval; an interval of 0
	// disables the full sync.
	Sync         FullSync
	SyncInterval time.Duration
	// Listen is the address of /healthz and /metrics.
	Listen   string
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// QueueURL is logged at start.
	QueueURL string
	// OnListen, when set, learns the address the HTTP server listens on.
	OnListen func(addr net.Addr)
	// Lease, when set, elects the one replica that runs the full sync (the
	// --sync-lease of serve): the sync loop runs only while this replica
	// holds the lease and stops when it loses it. Events are consumed by
	// every replica either way. Nil: this replica always syncs (one replica).
	Lease SyncLease
}

// SyncLease is a *lease.Lease.
type SyncLease interface {
	Run(ctx context.Context, lead func(ctx context.Context, term *lease.Term))
}

// Run listens, serves /healthz and /metrics, runs the full sync loop and the
// consumer until ctx ends, then waits for the sync in progress to stop,
// closes the HTTP server and returns the consumer's error.
func (s *Service) Run(ctx context.Context) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	l, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Listen, err)
	}
	srv := &http.Server{Handler: Mux(s.Registry, s.Consumer), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "error", err)
		}
	}()
	if s.OnListen != nil {
		s.OnListen(l.Addr())
	}
	log.Info("serving", "listen", l.Addr().String(), "queue", s.QueueURL, "sync_interval", s.SyncInterval)

	var wg sync.WaitGroup
	if s.SyncInterval > 0 && s.Sync != nil {
		if s.Lease != nil {
			wg.Go(func() {
				s.Lease.Run(ctx, func(ctx context.Context, term *lease.Term) {
					// A new holder continues the schedule of the last one
					// instead of syncing at once after every rollout.
					first := time.Duration(0)
					if !term.LastSync.IsZero() {
						first = max(0, time.Until(term.LastSync.Add(s.SyncInterval)))
					}
					syncLoop(ctx, s.Sync, s.SyncInterval, first, log, term.Synced)
				})
			})
		} else {
			wg.Go(func() { SyncLoop(ctx, s.Sync, s.SyncInterval, log) })
		}
	}
	runErr := s.Consumer.Run(ctx)
	wg.Wait()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	log.Info("stopped")
	return runErr
}

// Mux serves /metrics and /healthz; healthz fails while the queue cannot be
// polled, so an orchestrator restarts a consumer that is stuck.
func Mux(reg *prometheus.Registry, consumer Consumer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		last, err := consumer.Healthy()
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{"ok": err == nil}
		if !last.IsZero() {
			body["last_poll"] = last.UTC().Format(time.RFC3339)
		}
		if err != nil {
			body["error"] = err.Error()
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// SyncLoop runs the full sync now and then every interval, never two at once,
// until ctx ends.
func SyncLoop(ctx context.Context, syncer FullSync, interval time.Duration, logger *slog.Logger) {
	syncLoop(ctx, syncer, interval, 0, logger, nil)
}

// syncLoop is SyncLoop whose first sync waits first; synced, when set,
// learns when each sync finished.
func syncLoop(ctx context.Context, syncer FullSync, interval, first time.Duration, logger *slog.Logger, synced func(time.Time)) {
	if first > 0 {
		logger.Info("full sync: next one continues the schedule", "in", first.Round(time.Second))
		wait := time.NewTimer(first)
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		report, err := syncer.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if synced != nil {
			synced(time.Now())
		}
		failed := 0
		for _, s := range report.Shards {
			if !s.OK() {
				failed++
			}
		}
		if err != nil || failed > 0 {
			logger.Error("full sync finished with errors", "shards", len(report.Shards), "failed_shards", failed, "error", err, "took", report.Duration)
		} else {
			logger.Info("full sync finished", "shards", len(report.Shards), "took", report.Duration)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
