package jq

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestBatchMatchesFirst evaluates the native table's expressions as one
// batch over every document: when Eval succeeds each value is First's, and
// when any expression fails alone Eval fails.
func TestBatchMatchesFirst(t *testing.T) {
	var qs []*Query
	for _, c := range nativeExprs {
		qs = append(qs, mustCompile(t, c.expr))
	}
	// Batches of one, of a few and of all, so that one failing expression
	// does not fail every batch.
	batches := [][]*Query{qs}
	for i := 0; i < len(qs); i += 3 {
		batches = append(batches, qs[i:min(i+3, len(qs))])
	}
	for _, q := range qs {
		batches = append(batches, []*Query{q})
	}
	docs := decodeDocs(t, nativeDocs)
	succeeded := 0
	for bi, qs := range batches {
		b := NewBatch(qs)
		if b.program.code == nil {
			t.Fatalf("batch %d did not compile", bi)
		}
		for di, doc := range docs {
			out := make([]Value, b.Len())
			var dl Deadline
			ok := b.Eval(t.Context(), &dl, doc, out)
			dl.Stop()
			anyFailed := false
			for i, q := range qs {
				v, found, err := q.First(t.Context(), doc)
				what := fmt.Sprintf("batch %d, document %d, %s", bi, di, q)
				switch {
				case err != nil:
					anyFailed = true
				case ok && (found != out[i].Found || !reflect.DeepEqual(v, out[i].V)):
					t.Errorf("%s: batch gave %#v (%v), First %#v (%v)", what, out[i].V, out[i].Found, v, found)
				}
			}
			if anyFailed && ok {
				t.Errorf("batch %d, document %d: Eval succeeded though an expression fails alone", bi, di)
			}
			if ok {
				succeeded++
			}
		}
	}
	if len(batches) < 60 || succeeded < len(batches)*len(docs)/2 {
		t.Errorf("%d batches, %d evaluations succeeded", len(batches), succeeded)
	}
}

// TestBatchDeadline: a runaway expression ends the batch at the deadline,
// and First then names it with its own deadline.
func TestBatchDeadline(t *testing.T) {
	slow := mustCompile(t, `last(range(1e12))`, WithTimeout(50*time.Millisecond))
	fast := mustCompile(t, `.a`, WithTimeout(50*time.Millisecond))
	b := NewBatch([]*Query{fast, slow})
	var dl Deadline
	defer dl.Stop()
	start := time.Now()
	if b.Eval(t.Context(), &dl, map[string]any{"a": 1}, make([]Value, 2)) {
		t.Fatal("Eval succeeded past the deadline")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Eval took %s with a 50ms deadline", d)
	}
	if _, _, err := slow.FirstWithin(t.Context(), &dl, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("FirstWithin after the shared deadline: %v, want ErrTimeout", err)
	}
	if v, _, err := fast.FirstWithin(t.Context(), &dl, map[string]any{"a": 1}); err != nil || v != 1 {
		t.Errorf("a native expression after the shared deadline: %v, %v", v, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if b.Eval(ctx, &Deadline{}, map[string]any{"a": 1}, make([]Value, 2)) {
		t.Error("Eval succeeded under a cancelled context")
	}
}

// TestBatchSharedBounds: expressions within the bounds alone may exceed
// them together; Eval then fails and the caller's First succeeds for each.
func TestBatchSharedBounds(t *testing.T) {
	// add walks its input (1.5M units here, within the 2M bound of one
	// value); twelve of them walk 18M, past the 16M one evaluation may.
	list := make([]any, 1_500_000)
	for i := range list {
		list[i] = i
	}
	var qs []*Query
	for range 12 {
		qs = append(qs, mustCompile(t, `.list | add`))
	}
	doc := map[string]any{"list": list}
	if _, _, err := qs[0].First(t.Context(), doc); err != nil {
		t.Fatalf("one alone: %v", err)
	}
	var dl Deadline
	defer dl.Stop()
	if NewBatch(qs).Eval(t.Context(), &dl, doc, make([]Value, len(qs))) {
		t.Error("twelve walks of 1.5M elements passed one evaluation's work bound")
	}
}
