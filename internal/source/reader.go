package source

import (
	"context"
)

// Reader reads the resources of shards: every resource of one (account,
// region, kind) with List, or one of them with Get. CloudControl is the
// reader of every kind Cloud Control can list; other readers (a service's
// Describe API, the Organizations account list) implement the same contract,
// so pacing, retries, ownership, shards and stale deletion do not depend on
// which reader read a kind:
//   - List calls fn once per resource of the shard, from one goroutine at a
//     time, and returns a *ShardError when the shard could not be read
//     completely (the resources already passed were real, but no stale
//     deletion may follow);
//   - Get returns the resource, or an error for which errors.Is(err,
//     ErrNotFound) holds only when AWS said definitely that it does not exist
//     (the controller deletes on that word); any other failure is not proof.
type Reader interface {
	List(ctx context.Context, shard Shard, opts ListOptions, fn func(Resource) error) error
	Get(ctx context.Context, shard Shard, identifier string) (Resource, error)
}

// ByKind sends each shard to the reader registered for its kind, and every
// other kind to Default.
type ByKind struct {
	Default Reader
	Kinds   map[string]Reader
}

// Reader returns the reader of kind.
func (b ByKind) Reader(kind string) Reader {
	if r, ok := b.Kinds[kind]; ok {
		return r
	}
	return b.Default
}

// List lists the shard with its kind's reader.
func (b ByKind) List(ctx context.Context, shard Shard, opts ListOptions, fn func(Resource) error) error {
	return b.Reader(shard.Kind).List(ctx, shard, opts, fn)
}

// Get reads one resource with its kind's reader.
func (b ByKind) Get(ctx context.Context, shard Shard, identifier string) (Resource, error) {
	return b.Reader(shard.Kind).Get(ctx, shard, identifier)
}

var (
	_ Reader = (*CloudControl)(nil)
	_ Reader = ByKind{}
)
