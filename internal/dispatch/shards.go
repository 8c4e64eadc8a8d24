package events

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// SyncerShards adapts the full-sync controller to shard messages: it lists
// the shards to fan out and syncs one shard per message.
type SyncerShards struct {
	Syncer *controller.Syncer
}

// ShardRequests lists the shards of a full sync as shard messages.
func (s SyncerShards) ShardRequests(ctx context.Context) ([]ShardRequest, error) {
	shards, err := s.Syncer.Shards(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ShardRequest, len(shards))
	for i, sh := range shards {
		out[i] = ShardRequest{AccountID: sh.AccountID, Region: sh.Region, Kind: sh.Kind, ResourceModels: sh.ResourceModels}
	}
	return out, nil
}

// SyncShard syncs one shard. A shard with errors fails transiently, so SQS
// retries it; the queue's redrive policy bounds how often.
func (s SyncerShards) SyncShard(ctx context.Context, req ShardRequest) (ShardSummary, error) {
	if req.AccountID != s.Syncer.AccountID {
		// Another account's shard needs other credentials than this runtime has.
		return ShardSummary{}, permanent(ReasonBadShardMessage, "shard %s is for account %s, this exporter reads account %s", req, req.AccountID, s.Syncer.AccountID)
	}
	r := s.Syncer.SyncShard(ctx, source.Shard{AccountID: req.AccountID, Region: req.Region, Kind: req.Kind, ResourceModels: req.ResourceModels})
	summary := ShardSummary{Listed: r.Listed, Mapped: r.Mapped, Upserted: r.Upserted, Deleted: r.Deleted, Failed: r.Failed, Errors: r.Errors}
	if !r.OK() {
		return summary, fmt.Errorf("sync shard %s: %w: %s", req, errShardFailed, strings.Join(r.Errors, "; "))
	}
	return summary, nil
}

var errShardFailed = errors.New("shard sync finished with errors")
