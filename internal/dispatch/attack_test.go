package dispatch_test

// Issue 9, item 6: attacks as data. Each case of testdata/attacks/corpus.yaml
// is a CloudTrail record (a real one from testdata/attacks/records, patched
// with hostile caller-controlled strings) sent through the real pipeline: the
// rule's pattern and InputTransformer as `rules test` runs them
// (internal/rules/ruletest), the message body it renders, the dispatch
// Handler, the controller, the Cloud Control emulator and the Port double.
// internal/queue/attack_test.go runs the same corpus through serve's consumer
// on moto SQS.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
)

const attacksDir = "testdata/attacks"

// quiet drops the handler's logs: the corpus logs every outcome itself.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestAttackCorpus(t *testing.T) {
	cases := dispatchtest.LoadAttacks(t, attacksDir)
	// An emptied or truncated corpus must fail, not pass.
	if len(cases) < 40 {
		t.Fatalf("corpus.yaml has %d cases, want at least 40", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Fatalf("two cases are named %q", c.Name)
		}
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			event := c.Event(t, attacksDir)
			r := dispatchtest.Render(t, dispatchtest.AttackSuite(t, attacksDir, c.Rule, c.Kinds), event)
			wantMatched := c.Want.Matched == nil || *c.Want.Matched
			if r.Matched != wantMatched {
				t.Fatalf("rule matched: %v, want %v", r.Matched, wantMatched)
			}
			if r.RenderError != c.Want.RenderError {
				t.Errorf("rendering is invalid JSON: %v, want %v (bodies %q)", r.RenderError, c.Want.RenderError, r.Bodies)
			}
			opts := dispatchtest.AttackOptions(t, c)
			opts.Logger = quiet
			s := dispatchtest.New(t, opts)
			s.Stage(t, c, dispatchtest.RecordRegion(event))
			var items []dispatch.Item
			for i, b := range r.Bodies {
				items = append(items, dispatch.Item{ID: fmt.Sprintf("m-%d", i+1), Body: []byte(b)})
			}
			start := time.Now()
			out := s.Handler.HandleBatch(context.Background(), items)
			took := time.Since(start)
			if len(out) != len(items) {
				t.Fatalf("%d outcomes for %d messages", len(out), len(items))
			}
			for i, o := range out {
				t.Logf("body %d (%d bytes): outcome %s/%q (%v)", i+1, len(items[i].Body), o.Status, o.Reason, o.Err)
				if o.Status.String() != c.Want.Status || o.Reason != c.Want.Reason {
					t.Errorf("outcome %s/%q (%v), want %s/%q", o.Status, o.Reason, o.Err, c.Want.Status, c.Want.Reason)
				}
				if len(c.Want.Decision) > 0 {
					checkDecision(t, o, c.Want.Decision)
				}
			}
			if wantMatched && len(items) == 0 {
				t.Fatal("the rule matched and sent nothing")
			}
			if c.Want.MaxMillis > 0 && took > time.Duration(c.Want.MaxMillis)*time.Millisecond {
				t.Errorf("handling took %v, want under %d ms", took, c.Want.MaxMillis)
			}
			s.CheckAttack(t, c.Want)
			if c.Want.CCCalls != nil {
				if n := s.CC.TotalCounts().Calls; n != *c.Want.CCCalls {
					t.Errorf("%d Cloud Control calls, want %d", n, *c.Want.CCCalls)
				}
			}
		})
	}
	// Every attack of the brief is in the corpus.
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.Attack] = true
	}
	for _, a := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "legit", "real"} {
		if !seen[a] {
			t.Errorf("no case covers attack %q", a)
		}
	}
}

func checkDecision(t *testing.T, o dispatch.Outcome, want map[string]string) {
	t.Helper()
	if o.Report == nil || o.Report.Decision == nil {
		t.Errorf("no decision reported")
		return
	}
	raw, _ := json.Marshal(o.Report.Decision)
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	for k, v := range want {
		if g, ok := got[k]; (!ok && v != "") || (ok && fmt.Sprint(g) != v) {
			t.Errorf("decision %s = %v, want %q", k, got[k], v)
		}
	}
}

// FuzzInjectedFunctionName puts a mutated string into
// requestParameters.functionName of a failed DeleteFunction and of a failed
// CreateFunction, sends both through the seed's template and the Handler, and
// checks that no entity whose function exists in AWS and no hand-made entity
// is deleted. One stack serves every input of a fuzz worker; Port is reset
// after each.
func FuzzInjectedFunctionName(f *testing.F) {
	for _, c := range dispatchtest.LoadAttacks(f, attacksDir) {
		if c.Rule != "seed" || c.Setup != "" {
			continue
		}
		if s, ok := c.Patch["requestParameters.functionName"].(string); ok && len(s) < 4096 {
			f.Add(dispatchtest.Expand(s))
		}
	}
	f.Add(`victim-fn`)
	f.Add(`x","entity_identifier":"\"hand-fn\"","y":"`)
	f.Add(`x","entity_identifier":"\"victim-fn\"","resource_identifier":"\"ghost\"","y":"`)

	suite := dispatchtest.AttackSuite(f, attacksDir, "seed", nil)
	s := dispatchtest.New(f, dispatchtest.Options{Logger: quiet})
	const region = "us-east-1"
	owned := dispatchtest.Datasource(region, "AWS::Lambda::Function")
	existing := []string{"victim-fn", "victim-two", "victim-fn\\", "ghost\"", "hand-shadow"}
	for _, name := range existing {
		s.PutFunction(f, region, name, 128)
	}
	var mine, hand []entity.Entity
	for _, name := range []string{"victim-fn", "victim-two", "victim-fn\\", "ghost", "stale"} {
		mine = append(mine, entity.Entity{Blueprint: "lambda", Identifier: name, Properties: map[string]any{}})
	}
	for _, name := range []string{"hand-fn", "victim-three", "x", "nothing"} {
		hand = append(hand, entity.Entity{Blueprint: "lambda", Identifier: name, Properties: map[string]any{}})
	}
	reset := func() {
		s.Port.Put(owned, mine...)
		s.Port.Put(dispatchtest.HandDatasource, hand...)
	}
	reset()
	records := map[string][]byte{}
	for _, name := range []string{"lambda_DeleteFunction20150331__invictus-ir_aws_dataset.json",
		"lambda_CreateFunction20150331__invictus-ir_aws_dataset__ERROR-InvalidParameterValueException.json"} {
		raw, err := os.ReadFile(filepath.Join(attacksDir, "records", name))
		if err != nil {
			f.Fatal(err)
		}
		records[name] = raw
	}

	f.Fuzz(func(t *testing.T, injected string) {
		defer reset()
		var items []dispatch.Item
		for name, raw := range records {
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			doc["errorCode"] = "AccessDenied"
			doc["responseElements"] = nil
			doc["requestParameters"].(map[string]any)["functionName"] = injected
			event, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			r := dispatchtest.Render(t, suite, event)
			if !r.Matched {
				t.Fatalf("%s: the seed's rule does not match a failed call", name)
			}
			for _, b := range r.Bodies {
				items = append(items, dispatch.Item{ID: fmt.Sprintf("m-%d", len(items)+1), Body: []byte(b)})
			}
		}
		out := s.Handler.HandleBatch(context.Background(), items)
		if len(out) != len(items) {
			t.Fatalf("%d outcomes for %d messages", len(out), len(items))
		}
		for _, name := range existing {
			if name == "ghost\"" || name == "hand-shadow" {
				continue // no entity of that name in Port
			}
			if _, ok := s.Port.Entity("lambda", name); !ok {
				t.Errorf("entity %q was deleted while its function exists in AWS (injected %q; outcomes %+v)", name, injected, out)
			}
		}
		for _, e := range hand {
			if _, ok := s.Port.Entity("lambda", e.Identifier); !ok {
				t.Errorf("hand-made entity %q was deleted (injected %q; outcomes %+v)", e.Identifier, injected, out)
			}
		}
	})
}
