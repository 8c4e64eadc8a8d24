package controller

import (
	"slices"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// A full sync keeps every shard's desired entities until every shard has
// listed: a shard's stale deletion must not take an entity another shard
// listed (a kind two config entries map, a resource that moved). At
// 1,000,000 resources those sets were the largest part of the live heap, and
// a map costs about 56 bytes per entry beyond the identifier strings. Once a
// shard's listing is done nothing is added to its set, so it is kept as a
// sorted slice (the 32 bytes of a Ref) and looked up by binary search.

// compact turns the finished listing's set into the sorted slice.
func (w *shardWork) compact() {
	if w.desired == nil {
		return
	}
	w.desiredSorted = sortedRefs(w.desired)
	w.desired = nil
}

// isDesired says whether the shard produced ref.
func (w *shardWork) isDesired(ref entity.Ref) bool {
	if w.desired != nil {
		_, ok := w.desired[ref]
		return ok
	}
	_, ok := slices.BinarySearchFunc(w.desiredSorted, ref, compareRefs)
	return ok
}

// desiredRefs is every entity the shard produced, sorted once compacted.
func (w *shardWork) desiredRefs() []entity.Ref {
	if w.desired == nil {
		return w.desiredSorted
	}
	out := make([]entity.Ref, 0, len(w.desired))
	for ref := range w.desired {
		out = append(out, ref)
	}
	return out
}

func compareRefs(a, b entity.Ref) int {
	if a.Blueprint != b.Blueprint {
		if a.Blueprint < b.Blueprint {
			return -1
		}
		return 1
	}
	switch {
	case a.Identifier < b.Identifier:
		return -1
	case a.Identifier > b.Identifier:
		return 1
	}
	return 0
}
