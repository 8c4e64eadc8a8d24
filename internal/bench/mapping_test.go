package bench

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// jqOrSkip finds the jq binary or skips, naming what is missing.
func jqOrSkip(t *testing.T) string {
	t.Helper()
	p := FindJQ()
	if p == "" {
		t.Skip("jq binary not found (set $JQ or put jq on PATH; Debian: apt-get install jq)")
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Skipf("jq at %s not runnable: %v", p, err)
	}
	return p
}

// TestMappingMatchesJQ checks that the jq program the benchmark hands the jq
// binary computes what the exporter's mapping computes, entity by entity, so
// the two sides of the comparison do the same work.
func TestMappingMatchesJQ(t *testing.T) {
	jqPath := jqOrSkip(t)
	kind := DefaultKinds[0]
	path := filepath.Join(t.TempDir(), "documents.jsonl")
	const n = 300
	if err := WriteDocuments(path, kind, n); err != nil {
		t.Fatal(err)
	}
	var ours, theirs bytes.Buffer
	count, _, err := MapFile(t.Context(), path, kind, &ours)
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("mapped %d entities from %d documents", count, n)
	}
	if _, _, err := RunJQ(t.Context(), jqPath, path, kind, &theirs); err != nil {
		t.Fatal(err)
	}
	a, b := decodeLines(t, ours.Bytes()), decodeLines(t, theirs.Bytes())
	if len(a) != len(b) {
		t.Fatalf("exporter wrote %d entities, jq %d", len(a), len(b))
	}
	for i := range a {
		for _, field := range []string{"identifier", "title", "blueprint", "properties"} {
			if !reflect.DeepEqual(a[i][field], b[i][field]) {
				t.Fatalf("entity %d %s: exporter %v, jq %v", i, field, a[i][field], b[i][field])
			}
		}
	}
	if props, _ := a[0]["properties"].(map[string]any); len(props) != len(Properties) {
		t.Errorf("entity has %d properties, want %d: %v", len(props), len(Properties), props)
	}
}

func decodeLines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestRunMappingCountsBothSides(t *testing.T) {
	jqPath := jqOrSkip(t)
	res, err := RunMapping(t.Context(), t.TempDir(), 2000, jqPath)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ours.Entities != 2000 || res.JQ == nil || res.JQ.Entities != 2000 {
		t.Fatalf("entities: ours %d, jq %+v", res.Ours.Entities, res.JQ)
	}
	if res.Ours.CPU <= 0 || res.JQ.CPU <= 0 || res.Ours.PerCoreSecond <= 0 {
		t.Errorf("CPU times not measured: %+v / %+v", res.Ours, *res.JQ)
	}
	if a := res.Ours.MapAlone; a == nil || a.Entities != 2000 || a.CPU <= 0 || a.PerCoreSecond <= 0 {
		t.Errorf("Map alone not measured: %+v", a)
	}
	t.Logf("ours %.0f entities/core-s, %s %.0f", res.Ours.PerCoreSecond, res.JQVersion, res.JQ.PerCoreSecond)
}

// BenchmarkMapFile is the exporter's side of the mapping scenario (parse,
// map, print) over 20,000 documents; one iteration is the whole file.
func BenchmarkMapFile(b *testing.B) {
	kind := DefaultKinds[0]
	path := filepath.Join(b.TempDir(), "documents.jsonl")
	const n = 20_000
	if err := WriteDocuments(path, kind, n); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		count, _, err := MapFile(b.Context(), path, kind, &lineCounter{})
		if err != nil || count != n {
			b.Fatalf("%d entities: %v", count, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entities/s")
}
