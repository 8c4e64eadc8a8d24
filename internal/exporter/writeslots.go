package exporter

import (
	"math"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/port"
)

// upsertLatency is a moving average of how long Port takes to answer a bulk
// upsert (the HTTP request alone, not the wait for the pace).
type upsertLatency struct {
	mu  sync.Mutex
	avg time.Duration
}

func (l *upsertLatency) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.avg == 0 {
		l.avg = d
		return
	}
	l.avg = (7*l.avg + d) / 8
}

func (l *upsertLatency) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.avg
}

// writeSlotsFor is how many bulk upserts keep Port's budget busy: its pace
// (the budget its headers state) × a request's latency, with half again for
// latency that varies; 0 (the floor) until both are known, or unpaced.
// Slots beyond what the pace admits only wait in the client's pacer, so this
// cannot bring 429s; it lets a large budget be used (1,200 requests/s at
// 80 ms needs about 100 in flight, not DefaultWriteConcurrency's 16).
func writeSlotsFor(client *port.Client, latency *upsertLatency) func() int {
	return func() int {
		pace, lat := client.Pace(), latency.get()
		if pace <= 0 || math.IsInf(pace, 0) || math.IsNaN(pace) || lat <= 0 {
			return 0
		}
		return int(math.Ceil(pace * lat.Seconds() * 1.5))
	}
}
