package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// BulkSize is how many entities of one blueprint go in one upsert: Port's
// bulk route takes at most 20.
const BulkSize = 20

// upserter batches a shard's entities per blueprint and sends each full batch
// while the listing goes on. A send waits for a free write slot (shared by
// all shards), which holds back the listing when Port is the slower side, so
// memory stays bounded by the batches in flight.
type upserter struct {
	c       *Controller
	ctx     context.Context
	w       *shardWork
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string][]entity.Entity
	wg      sync.WaitGroup
}

func (c *Controller) newUpserter(ctx context.Context, w *shardWork, log *slog.Logger) *upserter {
	return &upserter{c: c, ctx: ctx, w: w, log: log, pending: map[string][]entity.Entity{}}
}

func (u *upserter) add(e entity.Entity) {
	u.mu.Lock()
	u.pending[e.Blueprint] = append(u.pending[e.Blueprint], e)
	var batch []entity.Entity
	if len(u.pending[e.Blueprint]) >= BulkSize {
		batch = u.pending[e.Blueprint]
		delete(u.pending, e.Blueprint)
	}
	u.mu.Unlock()
	if batch != nil {
		u.send(batch)
	}
}

// close sends what is left and waits for every send.
func (u *upserter) close() {
	u.mu.Lock()
	rest := u.pending
	u.pending = map[string][]entity.Entity{}
	u.mu.Unlock()
	for _, batch := range rest {
		u.send(batch)
	}
	u.wg.Wait()
}

func (u *upserter) send(batch []entity.Entity) {
	slots := u.c.shared.writeSlots
	slots.acquire()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		results := u.c.parts.Target.Upsert(u.ctx, u.w.shard, batch)
		slots.release()
		u.w.mu.Lock()
		for _, res := range results {
			if res.Err != nil {
				u.w.report.Failed++
				u.w.report.Errors = append(u.w.report.Errors, fmt.Errorf("upsert %s: %w", res.Ref, res.Err))
				u.log.Error("upsert failed", "entity", res.Ref.String(), "error", res.Err)
				continue
			}
			u.w.report.Upserted++
		}
		u.w.mu.Unlock()
		u.c.progress(u.w, ShardListing)
	}()
}
