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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

const attacksDir = "testdata/attacks"

// attackCase is one case of the corpus.
type attackCase struct {
	Name string `json:"name"`
	// Attack is the item of the brief the case covers (a..i, legit, real).
	Attack string `json:"attack"`
	// Rule is "seed" (the seed's rule stack, unchanged) or "library" (the
	// rules of Kinds from internal/rules/library).
	Rule  string   `json:"rule"`
	Kinds []string `json:"kinds"`
	// Setup is the exporter config: "seed" (dispatchtest's: lambda by
	// .FunctionName into blueprint lambda) or "library" (the library's
	// default mappings of Kinds, syncing the regions of libraryRegions).
	Setup string `json:"setup"`
	// Record is a file under records/; Patch sets dotted paths of it
	// (${repeat N TEXT} in a string value expands to TEXT N times).
	Record string         `json:"record"`
	Patch  map[string]any `json:"patch"`
	AWS    []struct {
		Region     string         `json:"region"`
		Type       string         `json:"type"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
	} `json:"aws"`
	Port []struct {
		Blueprint  string         `json:"blueprint"`
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
		// Owner is "exporter" (the shard's $datasource: region and kind of
		// the case), "hand" (made in Port's UI) or a literal $datasource.
		Owner  string `json:"owner"`
		Region string `json:"region"`
		Kind   string `json:"kind"`
	} `json:"port"`
	CCFault *struct {
		Scope cloudcontrol.Scope     `json:"scope"`
		Kind  cloudcontrol.FaultKind `json:"kind"`
	} `json:"cc_fault"`
	Want attackWant `json:"want"`
}

type attackWant struct {
	// Matched: the rule's pattern matches the event (default true).
	Matched *bool `json:"matched"`
	// Status and Reason of the message's outcome (ok, transient, permanent).
	Status string `json:"status"`
	Reason string `json:"reason"`
	// Kept and Gone are blueprint/identifier refs that must exist (or not) afterwards.
	Kept []string `json:"kept"`
	Gone []string `json:"gone"`
	// Listings is the number of ListResources calls (nil: not checked).
	Listings *int `json:"listings"`
	// CCCalls is the number of Cloud Control calls of any kind (nil: not checked).
	CCCalls *int `json:"cc_calls"`
	// Decision holds fields of the evaluated decision.
	Decision map[string]string `json:"decision"`
	// MaxMillis bounds how long handling takes (0: not checked).
	MaxMillis int `json:"max_millis"`
	// RenderError: EventBridge's rendering is not valid JSON (what the queue gets anyway).
	RenderError bool `json:"render_error"`
}

// libraryRegions are the regions the library setup syncs: the regions of the
// real records (the library's config names none, so the exporter's default
// region alone would be synced).
var libraryRegions = []string{"eu-west-1", "us-east-1", "us-west-1", "us-west-2"}

// quiet drops the handler's logs: the corpus logs every outcome itself.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const handDatasource = "Port UI (made by hand)"

func loadAttacks(t testing.TB) []attackCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(attacksDir, "corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []attackCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("corpus.yaml: %v", err)
	}
	return cases
}

var repeatRE = regexp.MustCompile(`\$\{repeat (\d+) ([^}]*)\}`)

func expand(s string) string {
	return repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		p := repeatRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[1])
		return strings.Repeat(p[2], n)
	})
}

// eventOf reads the case's record and applies its patch.
func eventOf(t testing.TB, c attackCase) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(attacksDir, "records", c.Record))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(c.Patch))
	for k := range c.Patch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := c.Patch[k]
		if s, ok := v.(string); ok {
			v = expand(s)
		}
		setPath(doc, strings.Split(k, "."), v)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setPath(doc map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := doc[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[p] = next
		}
		doc = next
	}
	doc[path[len(path)-1]] = v
}

// suiteOf compiles the case's rules as `rules test` does.
func suiteOf(t testing.TB, rule string, kinds []string) *ruletest.Suite {
	t.Helper()
	var rules []template.Rule
	var err error
	switch rule {
	case "seed":
		rules, err = template.ParseFile(filepath.Join(attacksDir, "seed-event-rule-template.yaml"))
	case "library":
		var ks []library.Kind
		if ks, err = library.Select(kinds); err != nil {
			break
		}
		var cf []byte
		if cf, err = library.CloudFormation(ks); err != nil {
			break
		}
		rules, err = template.Parse(cf, "library.yaml")
	default:
		t.Fatalf("unknown rule %q", rule)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ruletest.Compile(rules, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stackOptions returns the stack options of a setup.
func stackOptions(t testing.TB, setup string, kinds []string) dispatchtest.Options {
	t.Helper()
	switch setup {
	case "", "seed":
		return dispatchtest.Options{}
	case "library":
		ks, err := library.Select(kinds)
		if err != nil {
			t.Fatal(err)
		}
		b := library.NewBundle(ks)
		cfg, err := b.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(cfg, &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc["resources"].([]any) {
			sel := r.(map[string]any)["selector"].(map[string]any)
			sel["aws"] = map[string]any{"regions": libraryRegions}
		}
		if cfg, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		bps, err := b.BlueprintsJSON()
		if err != nil {
			t.Fatal(err)
		}
		return dispatchtest.Options{Config: cfg, Blueprints: bps}
	}
	t.Fatalf("unknown setup %q", setup)
	return dispatchtest.Options{}
}

// rendered is what the rule sends for the event: one body per target of
// each matching rule.
type rendered struct {
	Bodies      []string
	Matched     bool
	RenderError bool
}

func render(t testing.TB, s *ruletest.Suite, event []byte) rendered {
	t.Helper()
	rep, err := s.Run(context.Background(), event)
	if err != nil {
		t.Fatalf("rules test: %v", err)
	}
	var r rendered
	for _, m := range rep.Matches {
		r.Matched = true
		for _, tg := range m.Targets {
			if tg.Message == "" {
				t.Fatalf("rule %s target %s rendered nothing: %s", m.Rule, tg.ID, tg.Error)
			}
			if !json.Valid([]byte(tg.Message)) {
				r.RenderError = true
			}
			r.Bodies = append(r.Bodies, tg.Message)
		}
	}
	return r
}

// prepare builds the stack of a case with AWS and Port in the case's state.
func prepare(t testing.TB, c attackCase, region string) *dispatchtest.Stack {
	t.Helper()
	opts := stackOptions(t, c.Setup, c.Kinds)
	opts.Logger = quiet
	s := dispatchtest.New(t, opts)
	for _, r := range c.AWS {
		props := map[string]any{}
		for k, v := range r.Properties {
			if str, ok := v.(string); ok {
				v = expand(str)
			}
			props[k] = v
		}
		if err := s.CC.Put(r.Region, r.Type, expand(r.Identifier), props); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.Port {
		ds := p.Owner
		switch p.Owner {
		case "", "exporter":
			rg, kind := p.Region, p.Kind
			if rg == "" {
				rg = region
			}
			if kind == "" {
				kind = "AWS::Lambda::Function"
			}
			ds = dispatchtest.Datasource(rg, kind)
		case "hand":
			ds = handDatasource
		}
		props := p.Properties
		if props == nil {
			props = map[string]any{}
		}
		s.Port.Put(ds, entity.Entity{Blueprint: p.Blueprint, Identifier: expand(p.Identifier), Properties: props})
	}
	if c.CCFault != nil {
		s.CC.SetFault(c.CCFault.Scope, c.CCFault.Kind)
	}
	return s
}

func recordRegion(event []byte) string {
	var e struct {
		AWSRegion string `json:"awsRegion"`
		Region    string `json:"region"`
	}
	_ = json.Unmarshal(event, &e)
	if e.AWSRegion != "" {
		return e.AWSRegion
	}
	return e.Region
}

func checkPort(t testing.TB, s *dispatchtest.Stack, w attackWant) {
	t.Helper()
	for _, ref := range w.Kept {
		bp, id, _ := strings.Cut(expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); !ok {
			t.Errorf("%s was deleted, want it kept", ref)
		}
	}
	for _, ref := range w.Gone {
		bp, id, _ := strings.Cut(expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); ok {
			t.Errorf("%s is still in Port, want it gone", ref)
		}
	}
	if w.Listings != nil {
		n := 0
		for _, rg := range libraryRegions {
			n += s.CC.Counts(cloudcontrol.OpListResources, rg).Calls
		}
		if n != *w.Listings {
			t.Errorf("%d ListResources calls, want %d", n, *w.Listings)
		}
	}
	if w.CCCalls != nil {
		if n := s.CC.TotalCounts().Calls; n != *w.CCCalls {
			t.Errorf("%d Cloud Control calls, want %d", n, *w.CCCalls)
		}
	}
}

func TestAttackCorpus(t *testing.T) {
	cases := loadAttacks(t)
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
			event := eventOf(t, c)
			r := render(t, suiteOf(t, c.Rule, c.Kinds), event)
			wantMatched := c.Want.Matched == nil || *c.Want.Matched
			if r.Matched != wantMatched {
				t.Fatalf("rule matched: %v, want %v", r.Matched, wantMatched)
			}
			if r.RenderError != c.Want.RenderError {
				t.Errorf("rendering is invalid JSON: %v, want %v (bodies %q)", r.RenderError, c.Want.RenderError, r.Bodies)
			}
			s := prepare(t, c, recordRegion(event))
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
			checkPort(t, s, c.Want)
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
	for _, c := range loadAttacks(f) {
		if c.Rule != "seed" || c.Setup != "" {
			continue
		}
		if s, ok := c.Patch["requestParameters.functionName"].(string); ok && len(s) < 4096 {
			f.Add(expand(s))
		}
	}
	f.Add(`victim-fn`)
	f.Add(`x","entity_identifier":"\"hand-fn\"","y":"`)
	f.Add(`x","entity_identifier":"\"victim-fn\"","resource_identifier":"\"ghost\"","y":"`)

	suite := suiteOf(f, "seed", nil)
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
		s.Port.Put(handDatasource, hand...)
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
			r := render(t, suite, event)
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
