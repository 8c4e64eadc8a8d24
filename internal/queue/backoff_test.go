package queue_test

import (
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/queue"
)

func TestRetryBackoff(t *testing.T) {
	cases := []struct {
		receives int
		want     time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {50, time.Minute}}
	if len(cases) < 7 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		if got := queue.RetryBackoff(c.receives); got != c.want {
			t.Errorf("RetryBackoff(%d) = %v, want %v", c.receives, got, c.want)
		}
	}
}
