package controller_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
)

// The progress observer sees every shard start, grow, finish its listing and
// be done, in that order, with the counts of its report; and each shard's
// Duration is its own time, not the time it waited for the other shards to
// list (one shard at a time: the durations add up to at most the run's).
func TestProgressEventsAndPerShardDurations(t *testing.T) {
	tb := newTestbed(t, testConfig, 7)
	tb.emu.SetLatency(15 * time.Millisecond)
	tb.settings.Concurrency = 1
	c, err := controller.New(tb.parts, tb.settings)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	events := map[string][]controller.ShardEvent{}
	c.Progress = func(ev controller.ShardEvent) {
		mu.Lock()
		defer mu.Unlock()
		events[ev.Shard.String()] = append(events[ev.Shard.String()], ev)
	}
	report, err := c.Run(context.Background())
	if err != nil || !report.OK() {
		t.Fatalf("run: %v %+v", err, report.Shards)
	}
	if len(events) != len(report.Shards) || len(report.Shards) != 6 {
		t.Fatalf("events for %d shards, %d shards reported, want 6", len(events), len(report.Shards))
	}
	var sum time.Duration
	for _, r := range report.Shards {
		evs := events[r.Shard.String()]
		if len(evs) < 4 {
			t.Fatalf("%s: %d events", r.Shard, len(evs))
		}
		if evs[0].Phase != controller.ShardStarted || evs[len(evs)-1].Phase != controller.ShardDone || evs[len(evs)-2].Phase != controller.ShardListed {
			t.Errorf("%s: phases %v, want started … listed, done", r.Shard, phases(evs))
		}
		last := 0
		for _, ev := range evs {
			if ev.Listed < last {
				t.Errorf("%s: listed went back from %d to %d", r.Shard, last, ev.Listed)
			}
			last = ev.Listed
		}
		done := evs[len(evs)-1]
		if done.Report == nil || done.Listed != r.Listed || done.Upserted != r.Upserted || done.Report.Duration != r.Duration {
			t.Errorf("%s: done event %+v, report listed %d upserted %d", r.Shard, done, r.Listed, r.Upserted)
		}
		if r.Duration <= 0 {
			t.Errorf("%s: duration %v", r.Shard, r.Duration)
		}
		sum += r.Duration
	}
	if sum > report.Duration {
		t.Errorf("shard durations add up to %v, more than the run's %v: a shard counts the time it waited for others", sum, report.Duration)
	}
}

func phases(evs []controller.ShardEvent) []controller.ShardPhase {
	out := make([]controller.ShardPhase, len(evs))
	for i, ev := range evs {
		out[i] = ev.Phase
	}
	return out
}
