package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/identity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// publishedDocuments are GetResource documents of every Cloud Control kind
// of the published configs: every property the kind's resource schema says
// GetResource returns, filled (testdata/published/gen_documents.py).
type publishedDocuments struct {
	Region  string `json:"region"`
	Account string `json:"account"`
	Kinds   map[string][]struct {
		Identifier string         `json:"identifier"`
		Properties map[string]any `json:"properties"`
	} `json:"kinds"`
}

// Every published config.json of Cloud Control kinds (those of the Describe
// kinds have their own test against moto) syncs through the real SDK into
// the Port double, with Cloud Control's list handler returning only each
// resource's primary identifier, and every entity is, property by property,
// what Port's original exporter wrote: its jq over the whole GetResource
// document. No property the original fills comes out null; the log lists
// per config what it produced and which properties are null for both (the
// mapping reads something the schema does not have).
func TestPublishedCloudControlConfigsSyncAsTheOriginal(t *testing.T) {
	raw, err := os.ReadFile("testdata/published/documents.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs publishedDocuments
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatalf("testdata/published/documents.json: %v", err)
	}
	files, err := filepath.Glob("../config/testdata/published/*.json")
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, file := range files {
		cfg, err := config.Load(context.Background(), file, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !allCloudControl(cfg) {
			continue // a Describe kind: TestPublishedDescribeConfigsSyncAsTheOriginal
		}
		tested++
		t.Run(filepath.Base(file), func(t *testing.T) { syncPublished(t, file, cfg, docs) })
	}
	if tested < 25 {
		t.Fatalf("tested %d published configs of Cloud Control kinds, want at least 25", tested)
	}
}

func allCloudControl(cfg *config.Config) bool {
	for _, r := range cfg.Resources {
		if r.ReaderOf() != config.ReaderCloudControl {
			return false
		}
	}
	return true
}

func syncPublished(t *testing.T, file string, cfg *config.Config, docs publishedDocuments) {
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	emu := cloudcontrol.New()
	var original []entity.Entity
	var originalErr error // the published mapping fails on Cloud Control's document
	for _, r := range mapper.Resources() {
		kindDocs := docs.Kinds[r.Kind]
		if len(kindDocs) == 0 {
			t.Fatalf("documents.json has no %s: run gen_documents.py", r.Kind)
		}
		if p := identity.PrimaryIdentifier(r.Kind); p != "" {
			emu.SetType(r.Kind, cloudcontrol.TypeConfig{ListProperties: []string{p}})
		}
		region := r.Regions(docs.Region)[0]
		for _, d := range kindDocs {
			if err := emu.Put(region, r.Kind, d.Identifier, d.Properties); err != nil {
				t.Fatal(err)
			}
			res, err := r.Map(context.Background(), source.Resource{AccountID: docs.Account, Region: region, Kind: r.Kind, Identifier: d.Identifier, Properties: d.Properties})
			if err != nil {
				originalErr = err
				continue
			}
			original = append(original, res.Entities...)
		}
	}
	if originalErr == nil && len(original) == 0 {
		t.Fatal("the config maps none of the documents (its selector rejects them all?)")
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	for _, bp := range blueprintsFor(original) {
		if err := double.AddBlueprint(bp); err != nil {
			t.Fatalf("blueprint %s: %v", bp, err)
		}
	}
	b, err := Build(context.Background(), Options{
		ConfigLocation: file, NeedPort: true, OneShot: true, AccountID: docs.Account, Sync: valid(),
		Port: port.Config{BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion(docs.Region),
			awsconfig.WithBaseEndpoint(srv.URL),
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDPUBLISHED", "published-test-secret", ""))),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Controller.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if originalErr != nil {
		// The original's jq failed on the whole document too: the exporter
		// must say so (the shard fails with the mapping's path), not write
		// or delete around it.
		var failed []string
		for _, s := range report.Shards {
			for _, e := range s.Errors {
				failed = append(failed, e.Error())
			}
		}
		path := originalErr.Error()[:strings.Index(originalErr.Error(), ":")]
		if !strings.Contains(strings.Join(failed, "\n"), path) {
			t.Fatalf("the published mapping fails on Cloud Control's document (%v), and the sync did not report it: %v", originalErr, failed)
		}
		t.Logf("the published mapping fails on Cloud Control's document, for the original as for the exporter, which reports it: %v", originalErr)
		return
	}
	for _, s := range report.Shards {
		if !s.OK() {
			t.Fatalf("shard %s failed: %v", s.Shard, s.Errors)
		}
	}
	var filled, bothNull []string
	for _, want := range original {
		got, ok := double.Entity(want.Blueprint, want.Identifier)
		if !ok {
			t.Errorf("%s/%s: the original wrote it, the exporter did not", want.Blueprint, want.Identifier)
			continue
		}
		wantJSON, gotJSON := jsonValue(t, want), jsonValue(t, got.Entity)
		wantProps, _ := wantJSON["properties"].(map[string]any)
		gotProps, _ := gotJSON["properties"].(map[string]any)
		for _, name := range sortedKeys(wantProps) {
			w, g := wantProps[name], gotProps[name]
			switch {
			case w == nil && g == nil:
				bothNull = append(bothNull, want.Blueprint+"."+name)
			case !reflect.DeepEqual(w, g):
				t.Errorf("%s/%s property %s = %v, the original wrote %v", want.Blueprint, want.Identifier, name, g, w)
			default:
				filled = append(filled, want.Blueprint+"."+name)
			}
		}
		if !reflect.DeepEqual(nonNull(wantJSON["relations"]), nonNull(gotJSON["relations"])) || wantJSON["title"] != gotJSON["title"] {
			t.Errorf("%s/%s: title/relations %v %v, the original wrote %v %v", want.Blueprint, want.Identifier,
				gotJSON["title"], gotJSON["relations"], wantJSON["title"], wantJSON["relations"])
		}
	}
	if len(filled) == 0 {
		t.Error("no property came out filled")
	}
	t.Logf("%d entities; filled as the original: %s; null for the original too: %s", len(original),
		strings.Join(uniq(filled), ", "), orNone(uniq(bothNull)))
}

// blueprintsFor are blueprints holding every property and relation the
// entities have, typed by their values, with relation targets of their own.
func blueprintsFor(ents []entity.Entity) [][]byte {
	type bp struct {
		props map[string]string
		rels  map[string]bool // many
	}
	all := map[string]*bp{}
	for _, e := range ents {
		b := all[e.Blueprint]
		if b == nil {
			b = &bp{props: map[string]string{}, rels: map[string]bool{}}
			all[e.Blueprint] = b
		}
		for name, v := range e.Properties {
			if t := portType(v); t != "" || b.props[name] == "" {
				if t == "" {
					t = "string"
				}
				b.props[name] = t
			}
		}
		for name, v := range e.Relations {
			_, many := v.([]any)
			b.rels[name] = b.rels[name] || many
		}
	}
	var out [][]byte
	targets := map[string]bool{}
	for _, name := range sortedKeys(all) {
		for rel := range all[name].rels {
			targets["target-"+rel] = true
		}
	}
	for _, target := range sortedKeys(targets) {
		out = append(out, []byte(fmt.Sprintf(`{"identifier": %q, "title": %q, "schema": {"properties": {}}}`, target, target)))
	}
	for _, name := range sortedKeys(all) {
		b := all[name]
		props := map[string]any{}
		for p, t := range b.props {
			props[p] = map[string]any{"type": t}
		}
		rels := map[string]any{}
		for r, many := range b.rels {
			rels[r] = map[string]any{"target": "target-" + r, "many": many, "required": false}
		}
		body, _ := json.Marshal(map[string]any{"identifier": name, "title": name, "schema": map[string]any{"properties": props}, "relations": rels})
		out = append(out, body)
	}
	return out
}

func portType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, float64, json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uniq(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// nonNull is a relations object without its null relations: Port stores a
// null relation as none, sent or not.
func nonNull(v any) map[string]any {
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for k, x := range m {
		if x != nil {
			out[k] = x
		}
	}
	return out
}
