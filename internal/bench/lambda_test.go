package bench

import (
	"log/slog"
	"testing"
	"time"
)

// TestTinyLambdaRunCompletes is lambda-30k shrunk to seconds: 600 resources
// at 100 calls/s, 4 s invocations, so the shard needs several.
func TestTinyLambdaRunCompletes(t *testing.T) {
	sc, err := Named(ScenarioLambda30k, 600)
	if err != nil {
		t.Fatal(err)
	}
	sc.AWSLatency, sc.PortLatency = 5*time.Millisecond, 8*time.Millisecond
	res, err := RunLambda(t.Context(), sc, 4*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d invocations (%d redelivered, longest %v), wall %v for a %v bound, %d/%d continuations in the message/store, stale %d of %d",
		res.Invocations, res.Redelivered, res.Longest, res.Wall, res.Bound, res.StateInMessage, res.StateInStore, res.StaleDeleted, res.StaleExpected)
	if res.Invocations < 3 {
		t.Errorf("%d invocations, want at least 3 (6 s of AWS calls, 4 s invocations)", res.Invocations)
	}
	if res.Longest > 4*time.Second {
		t.Errorf("an invocation took %v, past its 4 s deadline", res.Longest)
	}
	if !res.DeletionCorrect {
		t.Errorf("stale deletion: %d missing, %d extra", res.Missing, res.Extra)
	}
}
