package lambdarie_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/testbed/lambdarie"
)

func TestEchoFunctionUnderEmulator(t *testing.T) {
	rie := lambdarie.Find(t)
	bootstrap := lambdarie.BuildBootstrap(t, "./internal/testbed/lambdarie/testdata/echo")
	emu := lambdarie.Start(t, rie, bootstrap, lambdarie.Options{Env: map[string]string{"ECHO_VALUE": "from-test"}, Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ids := map[string]bool{}
	for i, payload := range []string{`{"hello":"world"}`, `[1,2,3]`} {
		body, err := emu.Invoke(ctx, []byte(payload))
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		var got struct {
			Payload     json.RawMessage `json:"payload"`
			RemainingMS int64           `json:"remaining_ms"`
			RequestID   string          `json:"request_id"`
			Env         string          `json:"env"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
		if string(got.Payload) != payload {
			t.Errorf("function saw payload %s, want %s", got.Payload, payload)
		}
		if got.RemainingMS <= 20_000 || got.RemainingMS > 30_000 {
			t.Errorf("function saw %d ms left, want the 30 s timeout minus a little", got.RemainingMS)
		}
		if got.Env != "from-test" {
			t.Errorf("function environment ECHO_VALUE=%q, want from-test", got.Env)
		}
		if got.RequestID == "" || ids[got.RequestID] {
			t.Errorf("request id %q missing or reused", got.RequestID)
		}
		ids[got.RequestID] = true
	}

	body, err := emu.Invoke(ctx, []byte(`"fail"`))
	if err != nil {
		t.Fatalf("invoke failing function: %v", err)
	}
	if !strings.Contains(string(body), "asked to fail") || !strings.Contains(string(body), "errorMessage") {
		t.Fatalf("a function error came back as %s, want errorType/errorMessage", body)
	}
}
