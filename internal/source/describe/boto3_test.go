package describe

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/describetest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// Every document the describe reader gives is, key by key, the one Port's
// original exporter built with boto3 from the same AWS answers (moto), so a
// mapping written for the original reads the same values here.
func TestDocumentsAreTheOriginalExportersKeyByKey(t *testing.T) {
	m := moto.Start(t)
	python := describetest.Boto3Python(t)
	ctx := context.Background()
	const region = "eu-west-1"
	cfg := m.AWSConfig(ctx, region)
	f := describetest.Populate(t, ctx, cfg)
	want := describetest.Boto3Documents(t, python, m.URL, region)
	originalTimes := 0
	for _, byID := range want {
		for id, doc := range byID {
			before := fmt.Sprint(doc)
			byID[id] = describetest.WithISOTimestamps(doc).(map[string]any)
			if fmt.Sprint(byID[id]) != before {
				originalTimes++
			}
		}
	}
	if originalTimes == 0 {
		t.Error("no boto3 document has a timestamp: the one known difference is not exercised")
	}

	r := New(cfg, source.Options{MaxRetries: 2})
	compared := 0
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			got := map[string]map[string]any{}
			shard := source.Shard{AccountID: moto.AccountID, Region: region, Kind: kind}
			err := r.List(ctx, shard, source.ListOptions{}, func(res source.Resource) error {
				if res.Region != region || res.Kind != kind || res.AccountID != moto.AccountID {
					t.Errorf("resource %q of %s/%s/%s, want %s/%s/%s", res.Identifier, res.AccountID, res.Region, res.Kind, moto.AccountID, region, kind)
				}
				got[res.Identifier] = res.Properties
				return nil
			})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(got) == 0 || !reflect.DeepEqual(sortedKeys(got), sortedKeys(want[kind])) {
				t.Fatalf("listed %v, boto3 listed %v", sortedKeys(got), sortedKeys(want[kind]))
			}
			for id, doc := range got {
				var diffs []string
				compareDocs(kind+" "+id, doc, want[kind][id], &diffs)
				for _, d := range diffs {
					t.Error(d)
				}
				compared++
				// Get by the same identifier reads the same document.
				one, err := r.Get(ctx, shard, id)
				if err != nil {
					t.Errorf("Get %q: %v", id, err)
					continue
				}
				if one.Identifier != id || !reflect.DeepEqual(one.Properties, doc) {
					var diffs []string
					compareDocs("Get "+id, one.Properties, doc, &diffs)
					t.Errorf("Get %q gave %q and a document unlike the listing's: %v", id, one.Identifier, diffs)
				}
			}
		})
	}
	// What the fixture made is what was compared: both instances (one
	// terminated), both load balancers, the certificate, two live stacks
	// (not the deleted one) and the cluster.
	if compared != 8 {
		t.Errorf("compared %d documents, want 8 (fixture %+v)", compared, f)
	}

	// Get takes what the original's event rules sent (names), answers with
	// Cloud Control's identifier, finds a terminated instance, and calls a
	// deleted stack gone, by id (AWS still answers, DELETE_COMPLETE) and by
	// name (ValidationError: does not exist).
	get := func(kind, id string) (source.Resource, error) {
		return r.Get(ctx, source.Shard{AccountID: moto.AccountID, Region: region, Kind: kind}, id)
	}
	for _, c := range []struct{ kind, asked, want string }{
		{KindLoadBalancer, f.WebLB.Name, f.WebLB.ARN},
		{KindStack, f.YAMLStack.Name, f.YAMLStack.ARN},
		{KindEC2Instance, f.TerminatedInstance, f.TerminatedInstance},
	} {
		res, err := get(c.kind, c.asked)
		if err != nil || res.Identifier != c.want {
			t.Errorf("Get %s %q: %q, %v; want %q", c.kind, c.asked, res.Identifier, err, c.want)
		}
	}
	if res, _ := get(KindEC2Instance, f.TerminatedInstance); res.Properties["State"].(map[string]any)["Name"] != "terminated" {
		t.Errorf("terminated instance's State: %v", res.Properties["State"])
	}
	for _, id := range []string{f.DeletedStack.ARN, f.DeletedStack.Name} {
		if _, err := get(KindStack, id); !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Get deleted stack %q: %v, want not found", id, err)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compareDocs records every difference between got and want, by path.
// TemplateBody is compared as the YAML values it holds.
func compareDocs(path string, got, want any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %T %v, want an object", path, got, got))
			return
		}
		for _, k := range unionKeys(g, w) {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: missing (boto3: %v)", path, k, wv))
			case !wok:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: %v, which boto3 does not have", path, k, gv))
			case k == "TemplateBody":
				compareYAML(path+"."+k, gv, wv, diffs)
			default:
				compareDocs(path+"."+k, gv, wv, diffs)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want %v", path, got, want))
			return
		}
		for i := range w {
			compareDocs(fmt.Sprintf("%s[%d]", path, i), g[i], w[i], diffs)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %#v, want %#v", path, got, want))
		}
	}
}

func compareYAML(path string, got, want any, diffs *[]string) {
	gs, gok := got.(string)
	ws, wok := want.(string)
	if !gok || !wok {
		compareDocs(path, got, want, diffs)
		return
	}
	var gv, wv any
	if err := yaml.Unmarshal([]byte(gs), &gv); err != nil {
		*diffs = append(*diffs, fmt.Sprintf("%s: not YAML: %v", path, err))
		return
	}
	if err := yaml.Unmarshal([]byte(ws), &wv); err != nil {
		*diffs = append(*diffs, fmt.Sprintf("%s: boto3's is not YAML: %v", path, err))
		return
	}
	if !reflect.DeepEqual(gv, wv) {
		*diffs = append(*diffs, fmt.Sprintf("%s: YAML values differ:\n%s\nboto3:\n%s", path, gs, ws))
	}
	if strings.TrimSpace(gs) == "" {
		*diffs = append(*diffs, path+": empty")
	}
}

func unionKeys(a, b map[string]any) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return sortedKeys(set)
}
