package source_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// listInSegments lists shard in calls of at most pagesPerCall pages each,
// resuming at each call's cursor, as continuations do across invocations.
func listInSegments(t *testing.T, c *source.CloudControl, shard source.Shard, trust bool, pagesPerCall int) (map[string]int, int) {
	t.Helper()
	times := map[string]int{}
	var resume *source.Cursor
	for calls := 1; ; calls++ {
		if calls > 1000 {
			t.Fatal("a chain of segments that never ends")
		}
		pages := 0
		opts := source.ListOptions{TrustListProperties: trust, Resume: resume, Pause: func(int) bool {
			pages++
			return pages >= pagesPerCall
		}}
		err := c.List(context.Background(), shard, opts, func(r source.Resource) error {
			times[r.Identifier]++
			return nil
		})
		var paused *source.PausedError
		if errors.As(err, &paused) {
			if paused.Pages < 1 {
				t.Fatalf("call %d paused after %d pages: a segment must read at least one", calls, paused.Pages)
			}
			resume = &paused.Cursor
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return times, calls
	}
}

// TestListPausesAtPageBoundaries: a listing read in segments of a few pages
// delivers every resource exactly once, GetResource or not, with or without
// resource models.
func TestListPausesAtPageBoundaries(t *testing.T) {
	cases := []struct {
		name         string
		models       []string
		trust        bool
		pagesPerCall int
		wantCalls    int
	}{
		{"get, 2 pages a call", nil, false, 2, 3},   // 137 in pages of 25: 6 pages
		{"trusted, 1 page a call", nil, true, 1, 6}, // never pauses before a call's first page
		{"get, 10 pages a call", nil, false, 10, 1}, // one call is enough
		{"models, 1 page a call", []string{`{"ClusterName":"a"}`, `{"ClusterName":"b"}`}, true, 1, 4},
	}
	if len(cases) < 4 {
		t.Fatal("want at least 4 cases")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := cloudcontrol.New()
			shard := lambdaShard("eu-west-1")
			want := 137
			if tc.models != nil {
				// Two clusters of 30 nodegroups: 2 pages each.
				e.SetType(nodegroups, cloudcontrol.TypeConfig{RequiredModelProperties: []string{"ClusterName"}, ListProperties: []string{"Id"}})
				for _, cl := range []string{"a", "b"} {
					for i := range 30 {
						id := fmt.Sprintf("%s/ng-%02d", cl, i)
						if err := e.Put("eu-west-1", nodegroups, id, map[string]any{"Id": id, "ClusterName": cl}); err != nil {
							t.Fatal(err)
						}
					}
				}
				shard = source.Shard{AccountID: account, Region: "eu-west-1", Kind: nodegroups, ResourceModels: tc.models}
				want = 60
			} else {
				fill(t, e, "eu-west-1", 137)
			}
			c := reader(t, e, fastOptions())
			times, calls := listInSegments(t, c, shard, tc.trust, tc.pagesPerCall)
			assertEachOnce(t, times, want)
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
		})
	}
}

// TestResumeWithExpiredToken: Cloud Control refuses a forgotten token with
// InvalidRequestException; List says ErrTokenExpired (and still classifies
// the failure as an invalid request).
func TestResumeWithExpiredToken(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 60)
	c := reader(t, e, fastOptions())
	shard := lambdaShard("eu-west-1")
	err := c.List(context.Background(), shard, source.ListOptions{TrustListProperties: true, Pause: func(int) bool { return true }}, func(source.Resource) error { return nil })
	var paused *source.PausedError
	if !errors.As(err, &paused) || paused.Cursor.NextToken == "" {
		t.Fatalf("want a pause with a token after the first page, got %v", err)
	}
	e.ExpireTokens()
	err = c.List(context.Background(), shard, source.ListOptions{TrustListProperties: true, Resume: &paused.Cursor}, func(source.Resource) error { return nil })
	if !errors.Is(err, source.ErrTokenExpired) || !errors.Is(err, source.ErrInvalidRequest) {
		t.Fatalf("resumed with an expired token: %v, want ErrTokenExpired and ErrInvalidRequest", err)
	}
	// A cursor naming a model the shard does not list is refused before any call.
	err = c.List(context.Background(), shard, source.ListOptions{Resume: &source.Cursor{Model: `{"ClusterName":"gone"}`}}, func(source.Resource) error { return nil })
	if !errors.Is(err, source.ErrCursorInvalid) {
		t.Fatalf("cursor of another model: %v, want ErrCursorInvalid", err)
	}
}
