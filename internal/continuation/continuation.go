// Package continuation keeps the state of shard runs that span several
// calls: a shard too big for one Lambda invocation is reconciled in
// segments (controller.ReconcileSegment), each sending the next as a signed
// continuation shard message.
//
// Two things live here:
//
//   - the run's state between segments (controller.Segment: the entities
//     seen so far and the ownership search of the run's start), encoded by
//     EncodeState; it travels in the continuation message when it fits
//     (InlineLimit) and otherwise in the Store, the message naming its key;
//   - the shard's head record in the Store: which run of the shard is
//     current and which segment it is at. Every segment checks the head
//     before working and advances it with a conditional write (S3's
//     If-Match) before sending the next message or deleting anything, so
//     of two deliveries of one message, or a late message of a run that a
//     newer run replaced, at most one goes on, and nothing stale deletes.
//
// The head needs a store with conditional writes, which SQS is not: that is
// why continuations need one (S3, or a directory for serve on one machine),
// even when the state itself fits in the message. No secret is written: the
// state holds entity identifiers and Cloud Control's page tokens only.
package continuation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Head is the current run of one shard.
type Head struct {
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	// Seq is the segment the run is at: the continuation message carrying
	// Seq is the one that may run next.
	Seq int `json:"seq"`
	// StateKey is the store key of the state the next segment reads ("":
	// the state is in the message).
	StateKey string `json:"state_key,omitempty"`
	// Done: the run's last segment claimed it to delete; no segment follows.
	Done      bool      `json:"done,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Store holds heads and states. Implementations: S3 (Lambda, serve with
// several replicas) and Dir (serve on one machine, tests).
type Store interface {
	// Head reads the shard's head and its version; ErrNoHead when there is none.
	Head(ctx context.Context, shard source.Shard) (Head, string, error)
	// PutHead writes the head if its version is still ifVersion ("": in any
	// case) and returns the new version; ErrConflict when it changed.
	PutHead(ctx context.Context, shard source.Shard, h Head, ifVersion string) (string, error)
	// PutState stores a state of the run and returns its key.
	PutState(ctx context.Context, shard source.Shard, runID string, seq int, state []byte) (string, error)
	// GetState reads a state PutState stored.
	GetState(ctx context.Context, key string) ([]byte, error)
	// DeleteRun removes the states of a run (best effort: a lifecycle rule
	// on the prefix catches what is left).
	DeleteRun(ctx context.Context, shard source.Shard, runID string) error
	// String names the store for logs (no credentials).
	String() string
}

// Errors of a Store.
var (
	ErrNoHead   = errors.New("no run recorded for the shard")
	ErrConflict = errors.New("the shard's head changed since it was read")
)

// DefaultInlineLimit bounds the state carried in a message: SQS takes
// 256 KiB per message, attributes included; the envelope, the cursor (a
// NextToken can be a few KiB) and the signature fit in the rest.
const DefaultInlineLimit = 200 << 10

// stateVersion is the version of the encoded state.
const stateVersion = 1

// maxProblems bounds the problems a state carries; the count says how many
// there were.
const maxProblems = 20

type stateDoc struct {
	Version         int                  `json:"version"`
	Desired         refSet               `json:"desired"`
	Owned           refSet               `json:"owned,omitempty"`
	OwnedBlueprints []string             `json:"owned_blueprints,omitempty"`
	OwnedSearched   bool                 `json:"owned_searched"`
	Problems        []controller.Problem `json:"problems,omitempty"`
	ProblemCount    int                  `json:"problem_count,omitempty"`
}

// refSet groups identifiers by blueprint: the compact form of a set of refs.
type refSet map[string][]string

func toRefSet(refs []entity.Ref) refSet {
	out := refSet{}
	for _, r := range refs {
		out[r.Blueprint] = append(out[r.Blueprint], r.Identifier)
	}
	for bp := range out {
		slices.Sort(out[bp])
	}
	return out
}

func (s refSet) refs() []entity.Ref {
	var out []entity.Ref
	bps := make([]string, 0, len(s))
	for bp := range s {
		bps = append(bps, bp)
	}
	slices.Sort(bps)
	for _, bp := range bps {
		for _, id := range s[bp] {
			out = append(out, entity.Ref{Blueprint: bp, Identifier: id})
		}
	}
	return out
}

// EncodeState encodes the part of a segment's state that can grow (the
// entities, the ownership search, the problems); the cursor and counters
// travel in the message itself.
func EncodeState(seg controller.Segment) ([]byte, error) {
	doc := stateDoc{Version: stateVersion, Desired: toRefSet(seg.Desired), OwnedBlueprints: seg.OwnedBlueprints,
		OwnedSearched: seg.OwnedSearched, ProblemCount: len(seg.Problems)}
	if len(seg.Owned) > 0 {
		doc.Owned = toRefSet(seg.Owned)
	}
	doc.Problems = seg.Problems[:min(len(seg.Problems), maxProblems)]
	return json.Marshal(doc)
}

// DecodeState fills seg's entities, ownership search and problems from b.
func DecodeState(b []byte, seg *controller.Segment) error {
	var doc stateDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("decode continuation state: %w", err)
	}
	if doc.Version != stateVersion {
		return fmt.Errorf("continuation state version %d, this exporter reads %d", doc.Version, stateVersion)
	}
	seg.Desired = doc.Desired.refs()
	seg.Owned = doc.Owned.refs()
	seg.OwnedBlueprints = doc.OwnedBlueprints
	seg.OwnedSearched = doc.OwnedSearched
	seg.Problems = doc.Problems
	if n := doc.ProblemCount - len(doc.Problems); n > 0 {
		// Only the first problems are kept; one entry stands for the rest,
		// which still withhold the run's deletions (one entry per count
		// would let a state naming a huge count exhaust memory).
		seg.Problems = append(seg.Problems, controller.Problem{Reason: "earlier_segment", Error: fmt.Sprintf("and %d more (not kept)", n)})
	}
	return nil
}
