package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// The fast paths (jq's native path and one batch per mapping) must map
// every resource exactly as evaluating each expression alone in gojq did:
// the same selection, the same entities (values and Go types), the same
// errors. Three mappers of one config are compared: the reference (gojq
// only, each expression alone, its own deadline), gojq batches (the
// combined program, no native path) and the default (native + batches).
type mapperTrio struct {
	ref, batched, fast *Mapper
}

func compileTrio(t testing.TB, cfg *config.Config) mapperTrio {
	t.Helper()
	var trio mapperTrio
	var err error
	if trio.ref, err = Compile(cfg, jq.WithoutNative()); err != nil {
		t.Fatal(err)
	}
	for _, r := range trio.ref.resources {
		r.perField = true
	}
	if trio.batched, err = Compile(cfg, jq.WithoutNative()); err != nil {
		t.Fatal(err)
	}
	if trio.fast, err = Compile(cfg); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Mapper{trio.ref, trio.batched, trio.fast} {
		m.SetLogger(discardLogger())
	}
	return trio
}

// compare maps res with entry i of each mapper and fails on any difference;
// it returns how many entities the reference produced.
func (trio mapperTrio) compare(t testing.TB, i int, res source.Resource, what string) int {
	t.Helper()
	ctx := context.Background()
	want, wantErr := trio.ref.resources[i].Map(ctx, res)
	for name, m := range map[string]*Mapper{"batched": trio.batched, "fast": trio.fast} {
		got, err := m.resources[i].Map(ctx, res)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%s, %s: error\n%v\nwant\n%v", what, name, err, wantErr)
		}
		if got.Selected != want.Selected || !reflect.DeepEqual(got.Entities, want.Entities) {
			t.Errorf("%s, %s: %+v\nwant %+v", what, name, got, want)
		}
	}
	return len(want.Entities)
}

type publishedDocs struct {
	Region  string `json:"region"`
	Account string `json:"account"`
	Kinds   map[string][]struct {
		Identifier string          `json:"identifier"`
		Properties json.RawMessage `json:"properties"`
	} `json:"kinds"`
}

// loadPublishedDocs reads the GetResource documents of every kind of the
// published configs (internal/exporter's test data), decoded as the Cloud
// Control reader decodes them.
func loadPublishedDocs(t testing.TB) publishedDocs {
	t.Helper()
	raw, err := os.ReadFile("../exporter/testdata/published/documents.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs publishedDocs
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

func publishedConfigs(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../config/testdata/published/*.json", "../config/testdata/ocean/*.yml"} {
		found, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, found...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d published configs, want at least 40", len(files))
	}
	return files
}

// TestPublishedFastPathsMatchPerField maps every published config (both
// dialects) over the documents of its kinds, as they are and mutated: each
// property in turn removed, set to null, to a number, to a string and to an
// object, so that fields fail, give null or change type.
func TestPublishedFastPathsMatchPerField(t *testing.T) {
	docs := loadPublishedDocs(t)
	entities, evaluations := 0, 0
	for _, file := range publishedConfigs(t) {
		cfg, err := config.Load(t.Context(), file, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		trio := compileTrio(t, cfg)
		for i, r := range trio.ref.resources {
			for _, d := range docs.Kinds[r.Kind] {
				props, err := source.DecodeProperties(d.Properties)
				if err != nil {
					t.Fatal(err)
				}
				res := source.Resource{AccountID: docs.Account, Region: docs.Region, Kind: r.Kind, Identifier: d.Identifier, Properties: props}
				what := fmt.Sprintf("%s %s %s", filepath.Base(file), r.Path(), d.Identifier)
				entities += trio.compare(t, i, res, what)
				evaluations++
				for _, key := range sortedKeys(props) {
					for vi, v := range []any{nil, 7, "x:y", map[string]any{"Key": "k"}, []any{"a", map[string]any{"Key": "team", "Value": "v"}}, "delete"} {
						mutated := make(map[string]any, len(props))
						for k, x := range props {
							mutated[k] = x
						}
						if v == "delete" {
							delete(mutated, key)
						} else {
							mutated[key] = v
						}
						res.Properties = mutated
						entities += trio.compare(t, i, res, fmt.Sprintf("%s with %s as value %d", what, key, vi))
						evaluations++
					}
				}
			}
		}
	}
	t.Logf("%d mappings compared, %d entities", evaluations, entities)
	if evaluations < 2000 || entities < evaluations/2 {
		t.Errorf("%d mappings compared, %d entities: too few to prove anything", evaluations, entities)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestRandomDocumentsFastPathsMatchPerField is the property test: random
// documents, built from the published documents' keys with values of every
// type nested at random, through every published config.
func TestRandomDocumentsFastPathsMatchPerField(t *testing.T) {
	docs := loadPublishedDocs(t)
	r := rand.New(rand.NewPCG(2026, 12))
	compared := 0
	for _, file := range publishedConfigs(t) {
		cfg, err := config.Load(t.Context(), file, nil)
		if err != nil {
			t.Fatal(err)
		}
		trio := compileTrio(t, cfg)
		for i, entry := range trio.ref.resources {
			var keys []string
			for _, d := range docs.Kinds[entry.Kind] {
				var props map[string]any
				if err := json.Unmarshal(d.Properties, &props); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, sortedKeys(props)...)
			}
			keys = append(keys, "Tags", "Key", "Value", "Name", "Arn")
			for n := range 40 {
				props := randomObject(r, keys, 3)
				res := source.Resource{AccountID: "123456789012", Region: "eu-west-1", Kind: entry.Kind, Identifier: fmt.Sprintf("random-%d", n), Properties: props}
				trio.compare(t, i, res, fmt.Sprintf("%s %s random document %d: %v", filepath.Base(file), entry.Path(), n, props))
				compared++
			}
		}
	}
	if compared < 2000 {
		t.Errorf("compared %d documents", compared)
	}
}

func randomObject(r *rand.Rand, keys []string, depth int) map[string]any {
	out := map[string]any{}
	for range r.IntN(12) {
		out[keys[r.IntN(len(keys))]] = randomValue(r, keys, depth-1)
	}
	return out
}

func randomValue(r *rand.Rand, keys []string, depth int) any {
	n := 9
	if depth > 0 {
		n = 12
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.IntN(1000) - 10
	case 3:
		return 2.5
	case 4:
		b, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
		return b
	case 5:
		return json.Number("1e400")
	case 6:
		return []string{"", "arn:aws:lambda:eu-west-1:123456789012:function:f", "a/b/c", "Active", "docdb", "sqs", "port-x"}[r.IntN(7)]
	case 7:
		return keys[r.IntN(len(keys))]
	case 8:
		return "terminated"
	case 9, 10:
		out := make([]any, r.IntN(4))
		for i := range out {
			out[i] = randomValue(r, keys, depth-1)
		}
		return out
	}
	return randomObject(r, keys, depth-1)
}

// FuzzFastPathsMatchPerField compares the three mappers on arbitrary
// documents through the fuzz configs of FuzzMap and FuzzMapOcean.
func FuzzFastPathsMatchPerField(f *testing.F) {
	for _, seed := range []string{
		`{"FunctionName": "f", "Arn": "arn:aws:lambda:eu-west-1:1:function:f", "Layers": ["a", "b"], "Tags": [{"Key": "team", "Value": "x"}]}`,
		`{}`, `{"FunctionName": 5}`, `{"Layers": {"a": 1}}`, `{"FunctionName": "f", "MemorySize": 1e400}`, `{"Layers": [1, null, {"a": 1}]}`,
	} {
		f.Add([]byte(seed))
	}
	var trios []mapperTrio
	for _, raw := range []string{fuzzConfig, fuzzOceanConfig} {
		cfg, err := config.Parse([]byte(raw), config.JSON)
		if err != nil {
			f.Fatal(err)
		}
		trios = append(trios, compileTrio(f, cfg))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		props, err := source.DecodeProperties(doc)
		if err != nil {
			return
		}
		res := source.Resource{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::Lambda::Function", Identifier: "fuzz-resource", Properties: props}
		for _, trio := range trios {
			trio.compare(t, 0, res, string(doc))
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
