package dispatch

import (
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
)

// ShardRequests lists the shards of a full sync as shard requests, for the
// scheduled fan-out.
func ShardRequests(c *controller.Controller) ([]events.ShardRequest, error) {
	shards, err := c.Shards()
	if err != nil {
		return nil, err
	}
	out := make([]events.ShardRequest, len(shards))
	for i, sh := range shards {
		out[i] = events.ShardRequest{Shard: sh}
	}
	return out, nil
}
