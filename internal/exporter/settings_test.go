package exporter

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/plan"
)

func valid() SyncSettings {
	return SyncSettings{Concurrency: 4, Policy: plan.Policies["sync"], MaxDeleteShare: 0.5, AWSRequestsPerSecond: 10, PortRequestsPerSecond: 100}
}

// Zero means zero where it has a meaning (a share of 0 deletes nothing
// stale), and is refused where a component would read it as "default".
func TestSyncSettingsValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*SyncSettings)
		err    string // "" valid
	}{
		{"defaults", func(*SyncSettings) {}, ""},
		{"share 0 withholds every deletion", func(s *SyncSettings) { s.MaxDeleteShare = 0 }, ""},
		{"share 1", func(s *SyncSettings) { s.MaxDeleteShare = 1 }, ""},
		{"share above 1", func(s *SyncSettings) { s.MaxDeleteShare = 1.5 }, "max delete share 1.5 is not between 0 and 1"},
		{"negative share", func(s *SyncSettings) { s.MaxDeleteShare = -0.1 }, "not between 0 and 1"},
		{"NaN share", func(s *SyncSettings) { s.MaxDeleteShare = math.NaN() }, "max delete share NaN"},
		{"no policy", func(s *SyncSettings) { s.Policy = nil }, "no sync policy"},
		{"zero concurrency", func(s *SyncSettings) { s.Concurrency = 0 }, "concurrency 0"},
		{"zero AWS rate", func(s *SyncSettings) { s.AWSRequestsPerSecond = 0 }, "aws requests per second 0"},
		{"zero Port rate", func(s *SyncSettings) { s.PortRequestsPerSecond = 0 }, "port requests per second 0"},
		{"unpaced Port needs no rate", func(s *SyncSettings) { s.PortRequestsPerSecond, s.PortUnpaced = 0, true }, ""},
		{"negative write concurrency", func(s *SyncSettings) { s.WriteConcurrency = -1 }, "cannot be negative"},
	}
	if len(cases) < 12 {
		t.Fatalf("%d cases, want at least 12", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			c.change(&s)
			err := s.Validate()
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
	if err := (EventSettings{Concurrency: 0}).Validate(); err == nil || !strings.Contains(err.Error(), "event concurrency 0") {
		t.Errorf("event concurrency 0: %v, want refused", err)
	}
	if err := (EventSettings{Concurrency: 1, Timeout: 10 * time.Second, VerifyDelay: 10 * time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "must exceed the event timeout") {
		t.Errorf("a verify delay not above the timeout: %v, want refused (a stale write could land after the verification)", err)
	}
	if err := (EventSettings{Concurrency: 1, Timeout: 10 * time.Second, VerifyDelay: 16 * time.Minute}).Validate(); err == nil {
		t.Error("a verify delay past SQS's 15 minutes accepted")
	}
	if err := (EventSettings{Concurrency: 1, Timeout: 20 * time.Second}).Validate(); err != nil {
		t.Errorf("event concurrency 1 refused: %v", err)
	}
}
