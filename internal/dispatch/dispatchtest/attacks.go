package dispatchtest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// The attack corpus (internal/dispatch/testdata/attacks): hostile CloudTrail
// records run through the real rules and transformer into the event path.
// The dispatch handler and serve's SQS consumer replay the same cases, so
// the corpus is read, rendered and staged here once.

// AttackCase is one case of the corpus.
type AttackCase struct {
	Name string `json:"name"`
	// Attack is the item of the brief the case covers (a..i, legit, real).
	Attack string `json:"attack"`
	// Rule is "seed" (the seed's rule stack, unchanged) or "library" (the
	// rules of Kinds from internal/rules/library).
	Rule  string   `json:"rule"`
	Kinds []string `json:"kinds"`
	// Setup is the exporter config: "seed" (this package's: lambda by
	// .FunctionName into blueprint lambda) or "library" (the library's
	// default mappings of Kinds, syncing LibraryRegions).
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
	Want AttackWant `json:"want"`
}

// AttackWant is what a case must lead to.
type AttackWant struct {
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

// LibraryRegions are the regions the library setup syncs: the regions of the
// real records (the library's config names none, so the exporter's default
// region alone would be synced).
var LibraryRegions = []string{"eu-west-1", "us-east-1", "us-west-1", "us-west-2"}

// HandDatasource is the $datasource of an entity made by hand in Port.
const HandDatasource = "Port UI (made by hand)"

// LoadAttacks reads dir/corpus.yaml.
func LoadAttacks(t testing.TB, dir string) []AttackCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []AttackCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("corpus.yaml: %v", err)
	}
	return cases
}

var repeatRE = regexp.MustCompile(`\$\{repeat (\d+) ([^}]*)\}`)

// Expand expands ${repeat N TEXT} in s.
func Expand(s string) string {
	return repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		p := repeatRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[1])
		return strings.Repeat(p[2], n)
	})
}

// Event reads the case's record under dir/records and applies its patch.
func (c AttackCase) Event(t testing.TB, dir string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "records", c.Record))
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
			v = Expand(s)
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

// AttackSuite compiles a case's rules as `rules test` does: the seed's
// template in dir, or the library's rules of kinds.
func AttackSuite(t testing.TB, dir, rule string, kinds []string) *ruletest.Suite {
	t.Helper()
	var rules []template.Rule
	var err error
	switch rule {
	case "seed":
		rules, err = template.ParseFile(filepath.Join(dir, "seed-event-rule-template.yaml"))
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

// Rendered is what the rules send for an event: one body per target of
// each matching rule.
type Rendered struct {
	Bodies      []string
	Matched     bool
	RenderError bool
}

// Render runs the event through the suite, as EventBridge would.
func Render(t testing.TB, s *ruletest.Suite, event []byte) Rendered {
	t.Helper()
	rep, err := s.Run(context.Background(), event)
	if err != nil {
		t.Fatalf("rules test: %v", err)
	}
	var r Rendered
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

// AttackOptions are the stack options of a case's setup.
func AttackOptions(t testing.TB, c AttackCase) Options {
	t.Helper()
	switch c.Setup {
	case "", "seed":
		return Options{}
	case "library":
		ks, err := library.Select(c.Kinds)
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
			sel["aws"] = map[string]any{"regions": LibraryRegions}
		}
		if cfg, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		bps, err := b.BlueprintsJSON()
		if err != nil {
			t.Fatal(err)
		}
		return Options{Config: cfg, Blueprints: bps}
	}
	t.Fatalf("unknown setup %q", c.Setup)
	return Options{}
}

// Stage puts AWS and Port in the case's state; region is the record's, for
// entities the exporter owns.
func (s *Stack) Stage(t testing.TB, c AttackCase, region string) {
	t.Helper()
	for _, r := range c.AWS {
		props := map[string]any{}
		for k, v := range r.Properties {
			if str, ok := v.(string); ok {
				v = Expand(str)
			}
			props[k] = v
		}
		if err := s.CC.Put(r.Region, r.Type, Expand(r.Identifier), props); err != nil {
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
			ds = Datasource(rg, kind)
		case "hand":
			ds = HandDatasource
		}
		props := p.Properties
		if props == nil {
			props = map[string]any{}
		}
		s.Port.Put(ds, entity.Entity{Blueprint: p.Blueprint, Identifier: Expand(p.Identifier), Properties: props})
	}
	if c.CCFault != nil {
		s.CC.SetFault(c.CCFault.Scope, c.CCFault.Kind)
	}
}

// RecordRegion is the region of a CloudTrail record or EventBridge event.
func RecordRegion(event []byte) string {
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

// CheckAttack checks what the case wants of Port and of the listings.
func (s *Stack) CheckAttack(t testing.TB, w AttackWant) {
	t.Helper()
	for _, ref := range w.Kept {
		bp, id, _ := strings.Cut(Expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); !ok {
			t.Errorf("%s was deleted, want it kept", ref)
		}
	}
	for _, ref := range w.Gone {
		bp, id, _ := strings.Cut(Expand(ref), "/")
		if _, ok := s.Port.Entity(bp, id); ok {
			t.Errorf("%s is still in Port, want it gone", ref)
		}
	}
	if w.Listings != nil {
		n := 0
		for _, rg := range LibraryRegions {
			n += s.CC.Counts(cloudcontrol.OpListResources, rg).Calls
		}
		if n != *w.Listings {
			t.Errorf("%d ListResources calls, want %d", n, *w.Listings)
		}
	}
}
