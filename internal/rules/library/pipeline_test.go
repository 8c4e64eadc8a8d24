package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/rules/pattern"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/transform"
	"github.com/port-labs/port-aws-exporter/internal/testbed/corpus"
)

// These tests run every rule of the library the way AWS would: the CloudTrail
// record wrapped in EventBridge's envelope, matched with internal/rules/pattern,
// reshaped with internal/rules/transform, and the resulting queue message
// evaluated with internal/events, the exporter's own reader of the contract.

// compiledRule is one kind's rule, compiled by the packages that run rules.
type compiledRule struct {
	kind        Kind
	pattern     *pattern.Pattern
	transformer *transform.Transformer
}

func compileRules(t testing.TB) []compiledRule {
	t.Helper()
	kinds, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var rules []compiledRule
	for _, k := range kinds {
		p, err := pattern.Compile(k.Pattern())
		if err != nil {
			t.Fatalf("%s: pattern does not compile: %v", k.Type, err)
		}
		it := k.InputTransformer()
		tr, err := transform.Compile(it.InputPathsMap, it.InputTemplate)
		if err != nil {
			t.Fatalf("%s: input transformer does not compile: %v", k.Type, err)
		}
		rules = append(rules, compiledRule{kind: k, pattern: p, transformer: tr})
	}
	return rules
}

// wrapCloudTrail puts a bare CloudTrail record in the envelope EventBridge
// delivers it in (internal/rules/ruletest does it as `rules test` does); an
// EventBridge event is returned as is.
func wrapCloudTrail(t testing.TB, raw []byte) []byte {
	t.Helper()
	event, _, err := ruletest.PrepareEvent(raw)
	if err != nil {
		t.Fatalf("prepare event: %v", err)
	}
	return event
}

// outcome is what one matching rule makes of an event.
type outcome struct {
	kind     Kind
	message  []byte
	decision events.Decision
	err      error
}

func runRules(t testing.TB, rules []compiledRule, event []byte) []outcome {
	t.Helper()
	var out []outcome
	for _, r := range rules {
		ok, err := r.pattern.MatchJSON(event)
		if err != nil {
			t.Fatalf("match %s: %v", r.kind.Type, err)
		}
		if !ok {
			continue
		}
		o := outcome{kind: r.kind}
		o.message, o.err = r.transformer.Apply(event)
		if o.err == nil {
			var msg events.Message
			msg, o.err = events.ParseMessage(o.message)
			if o.err == nil {
				o.decision, o.err = events.Evaluate(context.Background(), msg)
			}
		}
		out = append(out, o)
	}
	return out
}

func kindNames(outs []outcome) []string {
	var names []string
	for _, o := range outs {
		names = append(names, o.kind.Name)
	}
	return names
}

// defaultCloudTrailDir holds the real CloudTrail records (a copy of the
// project's shared corpus, kept equal to it by internal/testbed/corpus).
var defaultCloudTrailDir = corpus.CloudTrailDir()

func existsDir(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

func cloudTrailDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PORT_AWS_EXPORTER_CLOUDTRAIL_DIR")
	if dir == "" {
		dir = defaultCloudTrailDir
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("real CloudTrail records not found at %s: %v", dir, err)
	}
	return dir
}

type recordCase struct {
	File           string `json:"file"`
	Kind           string `json:"kind"`
	Want           string `json:"want"`
	IdentifierFrom string `json:"identifierFrom"`
	IdentifierArn  string `json:"identifierArn"`
	SameAs         string `json:"sameAs"`
	RealRegion     string `json:"realRegion"`
	// EntityArn, for an upsert of a kind whose rule emits entity_identifier,
	// is the ARN template (as identifierArn) the entity_identifier must equal.
	EntityArn string `json:"entityArn"`
}

// expandArn fills an identifierArn template of testdata/records.yaml from the
// record: the partition follows from the region as AWS assigns them.
func expandArn(template string, record map[string]any, value any) string {
	region, _ := record["awsRegion"].(string)
	account, _ := record["recipientAccountId"].(string)
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return strings.NewReplacer("{partition}", partition, "{region}", region, "{account}", account,
		"{value}", fmt.Sprint(value)).Replace(template)
}

// pointer resolves a JSON pointer (RFC 6901, without escapes) in a decoded document.
func pointer(doc any, ptr string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i := 0
			for _, c := range seg {
				if c < '0' || c > '9' {
					return nil, false
				}
				i = i*10 + int(c-'0')
			}
			if i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func TestRealCloudTrailRecords(t *testing.T) {
	dir := cloudTrailDir(t)
	data, err := os.ReadFile(filepath.Join("testdata", "records.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []recordCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("testdata/records.yaml: %v", err)
	}
	rules := compileRules(t)
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.File, ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			record := doc
			if d, ok := doc["detail"].(map[string]any); ok {
				record = d
			}
			if c.RealRegion != "" {
				record["awsRegion"] = c.RealRegion
				if _, wrapped := doc["detail"]; wrapped {
					doc["region"] = c.RealRegion
				}
				if raw, err = json.Marshal(doc); err != nil {
					t.Fatal(err)
				}
			}
			outs := runRules(t, rules, wrapCloudTrail(t, raw))
			if c.Want == "none" {
				if len(outs) != 0 {
					t.Fatalf("a failed call (errorCode %v) matched %v", record["errorCode"], kindNames(outs))
				}
				return
			}
			if len(outs) != 1 || outs[0].kind.Name != c.Kind {
				t.Fatalf("matched %v, want exactly [%s]", kindNames(outs), c.Kind)
			}
			o := outs[0]
			if o.err != nil {
				t.Fatalf("message %s: %v", o.message, o.err)
			}
			want, ok := pointer(record, c.IdentifierFrom)
			if !ok {
				t.Fatalf("record has no %s", c.IdentifierFrom)
			}
			if c.IdentifierArn != "" {
				want = expandArn(c.IdentifierArn, record, want)
			}
			if c.SameAs != "" {
				if other, ok := pointer(record, c.SameAs); !ok || other != want {
					t.Errorf("the record's %s is %v, the expected identifier %v", c.SameAs, other, want)
				}
			}
			if string(o.decision.Action) != c.Want || o.decision.Identifier != want {
				t.Errorf("got %s %q, want %s %q (from %s)\nmessage: %s", o.decision.Action, o.decision.Identifier, c.Want, want, c.IdentifierFrom, o.message)
			}
			if o.decision.Region != record["awsRegion"] || o.decision.ResourceType != o.kind.Type {
				t.Errorf("got %s in %s, want %s in %s", o.decision.ResourceType, o.decision.Region, o.kind.Type, record["awsRegion"])
			}
			// The extension's fields: the name the record carries is the Cloud
			// Control identifier, the ARN the entity identifier, whatever the action.
			name, _ := pointer(record, c.IdentifierFrom)
			entityWant := fmt.Sprint(want)
			if c.Want == "upsert" {
				if c.EntityArn == "" && o.kind.Rule.EntityIdentifier != "" {
					t.Fatalf("testdata/records.yaml: %s emits entity_identifier: give this upsert case entityArn", c.Kind)
				}
				entityWant = expandArn(c.EntityArn, record, name)
			}
			checkExtensionFields(t, o, fmt.Sprint(name), entityWant)
			covered[c.Kind+"/"+c.Want] = true
		})
	}
	// Every real record type the lead collected must stay covered.
	for _, want := range []string{"lambda-function/upsert", "lambda-function/delete", "s3-bucket/upsert", "s3-bucket/delete",
		"iam-role/upsert", "iam-role/delete", "ec2-instance/upsert", "ec2-instance/delete", "rds-db-instance/upsert", "rds-db-instance/delete"} {
		if !covered[want] {
			t.Errorf("no passing real-record case for %s", want)
		}
	}
}

// documentedCase is one testdata/events/<kind>/<case>.json: an event built from
// the field names the AWS documentation gives, where no public record exists.
type documentedCase struct {
	Source string          `json:"source"`
	Event  json.RawMessage `json:"event"`
	Want   struct {
		Match        *bool  `json:"match"`
		Action       string `json:"action"`
		IdentifierOf string `json:"identifierOf"` // cloudControl or entity: computed from testdata/properties/<kind>.json
	} `json:"want"`
}

func TestDocumentedEvents(t *testing.T) {
	rules := compileRules(t)
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documented events: %v", err)
	}
	kinds := map[string]Kind{}
	for _, r := range rules {
		kinds[r.kind.Name] = r.kind
	}
	seen := map[string]map[string]bool{}
	for _, file := range files {
		kindName := filepath.Base(filepath.Dir(file))
		name := "documented-" + kindName + "/" + strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			k, ok := kinds[kindName]
			if !ok {
				t.Fatalf("no kind %q in the library", kindName)
			}
			var c documentedCase
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			if c.Source == "" {
				t.Fatal("case has no source note")
			}
			outs := runRules(t, rules, wrapCloudTrail(t, c.Event))
			if c.Want.Match != nil && !*c.Want.Match {
				if len(outs) != 0 {
					t.Fatalf("matched %v, want no rule", kindNames(outs))
				}
				return
			}
			if len(outs) != 1 || outs[0].kind.Name != kindName {
				t.Fatalf("matched %v, want exactly [%s]", kindNames(outs), kindName)
			}
			o := outs[0]
			if o.err != nil {
				t.Fatalf("message %s: %v", o.message, o.err)
			}
			props := loadProperties(t, kindName)
			var want string
			switch c.Want.IdentifierOf {
			case "cloudControl":
				want = cloudControlIdentifier(t, k, props)
			case "entity":
				want = mapEntity(t, k, props).Identifier
			default:
				t.Fatalf("identifierOf %q: want cloudControl or entity", c.Want.IdentifierOf)
			}
			if string(o.decision.Action) != c.Want.Action || o.decision.Identifier != want {
				t.Errorf("got %s %q, want %s %q\nmessage: %s", o.decision.Action, o.decision.Identifier, c.Want.Action, want, o.message)
			}
			checkExtensionFields(t, o, cloudControlIdentifier(t, k, props), mapEntity(t, k, props).Identifier)
			if seen[kindName] == nil {
				seen[kindName] = map[string]bool{}
			}
			seen[kindName][c.Want.Action] = true
		})
	}
	if t.Failed() {
		return
	}
	// Every kind without a real record has a documented create and delete.
	withRecords := map[string]bool{"lambda-function": true, "s3-bucket": true, "iam-role": true, "ec2-instance": true, "rds-db-instance": true}
	var missing []string
	for name := range kinds {
		if !withRecords[name] && (!seen[name]["upsert"] || !seen[name]["delete"]) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("kinds without a documented upsert and delete case: %v", missing)
	}
}

// checkExtensionFields checks the optional message fields of a rule that
// emits them: resource_identifier is the resource's Cloud Control identifier
// and entity_identifier its default mapping's entity identifier, whatever the
// action. A rule that emits neither must leave both empty.
func checkExtensionFields(t *testing.T, o outcome, resource, entity string) {
	t.Helper()
	d := o.decision
	if o.kind.Rule.EntityIdentifier == "" {
		if d.ResourceIdentifier != "" || d.EntityIdentifier != "" {
			t.Errorf("%s has no extension fields, but the message evaluated resource_identifier %q, entity_identifier %q", o.kind.Name, d.ResourceIdentifier, d.EntityIdentifier)
		}
		return
	}
	if d.ResourceIdentifier != resource || d.EntityIdentifier != entity {
		t.Errorf("%s %s: resource_identifier %q, entity_identifier %q; want %q, %q\nmessage: %s",
			o.kind.Name, d.Action, d.ResourceIdentifier, d.EntityIdentifier, resource, entity, o.message)
	}
}

// cloudControlIdentifier joins the primary identifier values, as Cloud Control does.
func cloudControlIdentifier(t testing.TB, k Kind, props map[string]any) string {
	t.Helper()
	var parts []string
	for _, p := range k.PrimaryIdentifier {
		v, ok := props[p].(string)
		if !ok || v == "" {
			t.Fatalf("%s: properties have no string %s", k.Type, p)
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, "|")
}

// FuzzRulesOnRecords feeds arbitrary CloudTrail-shaped records through every
// rule: matching, transforming and evaluating must never panic, and a message
// that evaluates names an action of the contract and a non-empty identifier.
func FuzzRulesOnRecords(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	for _, file := range files {
		var c documentedCase
		if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &c) == nil {
			f.Add([]byte(c.Event))
		}
	}
	rules := compileRules(f)
	f.Fuzz(func(t *testing.T, record []byte) {
		event, _, err := ruletest.PrepareEvent(record)
		if err != nil {
			return // not an event nor a CloudTrail record
		}
		for _, o := range runRules(t, rules, event) {
			if o.err != nil {
				var out *transform.OutputError
				if errors.As(o.err, &out) || errors.Is(o.err, events.ErrPermanent) {
					continue
				}
				t.Fatalf("%s: unexpected error kind: %v", o.kind.Type, o.err)
			}
			if o.decision.Action != events.ActionUpsert && o.decision.Action != events.ActionDelete {
				t.Fatalf("%s: action %q", o.kind.Type, o.decision.Action)
			}
			if o.decision.Identifier == "" {
				t.Fatalf("%s: empty identifier from %s", o.kind.Type, o.message)
			}
		}
	})
}

// relocations move a documented case and its sample resource to another
// account and region, in each AWS partition, as AWS would name them there.
var relocations = map[string]*strings.Replacer{
	"aws/eu-west-1":            strings.NewReplacer(sampleRegion, "eu-west-1", sampleAccount, "210987654321"),
	"aws-cn/cn-north-1":        strings.NewReplacer(sampleRegion, "cn-north-1", sampleAccount, "210987654321", "arn:aws:", "arn:aws-cn:"),
	"aws-us-gov/us-gov-west-1": strings.NewReplacer(sampleRegion, "us-gov-west-1", sampleAccount, "210987654321", "arn:aws:", "arn:aws-us-gov:"),
}

// A rule's identifier must follow the resource into any region, account and
// partition: the delete of a resource elsewhere names that resource's entity,
// not the sample's (the ARNs rebuilt from awsRegion and recipientAccountId).
func TestDocumentedEventsElsewhere(t *testing.T) {
	rules := compileRules(t)
	kinds := map[string]Kind{}
	for _, r := range rules {
		kinds[r.kind.Name] = r.kind
	}
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documented events: %v", err)
	}
	checked := 0
	for _, file := range files {
		kindName := filepath.Base(filepath.Dir(file))
		k := kinds[kindName]
		var c struct {
			Event any `json:"event"`
			Want  struct {
				Match        *bool  `json:"match"`
				Action       string `json:"action"`
				IdentifierOf string `json:"identifierOf"`
			} `json:"want"`
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if c.Want.Match != nil && !*c.Want.Match {
			continue // TestDocumentedEvents covers non-matching cases
		}
		for where, r := range relocations {
			name := kindName + "/" + strings.TrimSuffix(filepath.Base(file), ".json") + "/" + where
			t.Run(name, func(t *testing.T) {
				event, err := json.Marshal(relocate(c.Event, r))
				if err != nil {
					t.Fatal(err)
				}
				outs := runRules(t, rules, wrapCloudTrail(t, event))
				if len(outs) != 1 || outs[0].kind.Name != kindName {
					t.Fatalf("matched %v, want exactly [%s]", kindNames(outs), kindName)
				}
				if outs[0].err != nil {
					t.Fatalf("message %s: %v", outs[0].message, outs[0].err)
				}
				props := relocate(loadProperties(t, kindName), r).(map[string]any)
				want := cloudControlIdentifier(t, k, props)
				if c.Want.IdentifierOf == "entity" {
					want = mapEntity(t, k, props).Identifier
				}
				if d := outs[0].decision; string(d.Action) != c.Want.Action || d.Identifier != want {
					t.Errorf("got %s %q, want %s %q\nmessage: %s", d.Action, d.Identifier, c.Want.Action, want, outs[0].message)
				}
				checkExtensionFields(t, outs[0], cloudControlIdentifier(t, k, props), mapEntity(t, k, props).Identifier)
			})
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no documented case checked")
	}
}
