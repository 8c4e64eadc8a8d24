package cloudcontrol

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Jitter delays every answer by a random time in [Min, Max) after the
// emulator has read its state: the answer describes the resource as it was
// when the call arrived and reaches the caller later, as real answers taking
// 50–600 ms do. That is what makes a read older than a later change arrive
// after it: the race that convergence tests need.
type Jitter struct {
	Min, Max time.Duration
	Seed     uint64
}

// JitteredHandler serves the emulator with answers delayed by j.
func (e *Emulator) JitteredHandler(j Jitter) http.Handler {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(j.Seed, j.Seed^0x9e3779b97f4a7c15))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := j.Min
		if j.Max > j.Min {
			d += time.Duration(rng.Int64N(int64(j.Max - j.Min)))
		}
		mu.Unlock()
		rec := &delayedWriter{header: http.Header{}}
		e.ServeHTTP(rec, r)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body)
	})
}

// delayedWriter holds an answer until it is due.
type delayedWriter struct {
	header http.Header
	status int
	body   []byte
}

func (d *delayedWriter) Header() http.Header { return d.header }
func (d *delayedWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
func (d *delayedWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	d.body = append(d.body, b...)
	return len(b), nil
}
