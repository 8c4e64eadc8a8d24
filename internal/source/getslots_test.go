package source

import (
	"context"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

type getSlotsCase struct {
	Name    string  `json:"name"`
	Rate    float64 `json:"rate"`
	Ceiling int     `json:"ceiling"`
	Latency string  `json:"latency"`
	Calls   int     `json:"calls"`
	Want    int     `json:"want"`
}

func TestGetSlotsSizing(t *testing.T) {
	raw, err := os.ReadFile("testdata/getslots.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []getSlotsCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/getslots.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/getslots.yaml has no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			s := newGetSlots(tc.Rate, tc.Ceiling)
			if tc.Calls > 0 {
				d, err := time.ParseDuration(tc.Latency)
				if err != nil {
					t.Fatal(err)
				}
				for range tc.Calls {
					s.observe(d)
				}
			}
			if got := s.size(); got != tc.Want {
				t.Errorf("budget %d, want %d", got, tc.Want)
			}
			assertUsable(t, s, tc.Want)
		})
	}
}

// assertUsable checks that exactly n slots can be taken: the semaphore agrees
// with the budget the slots report.
func assertUsable(t *testing.T, s *getSlots, n int) {
	t.Helper()
	for i := range n {
		if !s.sem.TryAcquire(1) {
			t.Fatalf("only %d of %d slots could be taken", i, n)
		}
	}
	if s.sem.TryAcquire(1) {
		t.Fatalf("slot %d taken, budget is %d", n+1, n)
	}
	for range n {
		s.release()
	}
}

func TestGetSlotsShrinkOnlyFreeSlots(t *testing.T) {
	s := newGetSlots(100, 64) // 20 slots until the first answer
	ctx := context.Background()
	for range 20 {
		if err := s.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Every slot is busy: faster calls cannot park any yet.
	for range 300 {
		s.observe(50 * time.Millisecond)
	}
	if got := s.size(); got != 20 {
		t.Fatalf("budget %d with all 20 slots busy, want 20 until they are released", got)
	}
	for range 20 {
		s.release()
	}
	s.observe(50 * time.Millisecond)
	if got := s.size(); got != 10 {
		t.Fatalf("budget %d once released, want 10", got)
	}
	assertUsable(t, s, 10)
	// Slower calls again: the budget grows back.
	for range 300 {
		s.observe(200 * time.Millisecond)
	}
	if got := s.size(); got != 40 {
		t.Fatalf("budget %d at 200 ms, want 40", got)
	}
	assertUsable(t, s, 40)
}
