package library

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestMessagesCarryTheAccount: every message a rule makes of a real
// CloudTrail record names the account the call was made in (the record's
// recipientAccountId), and a documented state event its envelope's account,
// so that one central queue reconciles each event in its own account. A
// record forwarded from a member account keeps that account, whatever the
// bus it arrives on.
func TestMessagesCarryTheAccount(t *testing.T) {
	rules := compileRules(t)
	files, err := filepath.Glob(filepath.Join(cloudTrailDir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	documented, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	check := func(name string, event []byte) {
		var env struct {
			Account string `json:"account"`
			Detail  struct {
				RecipientAccountID string `json:"recipientAccountId"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(event, &env); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := env.Detail.RecipientAccountID
		if want == "" {
			want = env.Account
		}
		for _, o := range runRules(t, rules, event) {
			if o.err != nil {
				continue // the records test says which errors are expected
			}
			checked++
			if o.decision.AccountID != want {
				t.Errorf("%s via %s: account_id %q, want %q", name, o.kind.Name, o.decision.AccountID, want)
			}
		}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(filepath.Base(f), wrapCloudTrail(t, raw))
	}
	for _, f := range documented {
		var c documentedCase
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		check(f, wrapCloudTrail(t, c.Event))
	}
	if checked < 50 {
		t.Fatalf("%d messages checked, want at least 50", checked)
	}
	t.Logf("%d messages carry their account", checked)
}
