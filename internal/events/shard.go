package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Shard messages let a scheduled Lambda invocation fan a full sync out: it
// sends one message per shard (account, region, kind) to the events queue, and
// each is then synced by its own invocation, well within Lambda's 15 minutes.
// A shard that fails transiently is redelivered by SQS like any message.
//
// The body is versioned and namespaced so that no event rule's message can be
// mistaken for one:
//
//	{"port_aws_exporter": {"version": 1, "sync_shard": {"account_id": "123456789012",
//	  "region": "eu-west-1", "kind": "AWS::Lambda::Function", "resource_models": []},
//	  "requested_at": "2026-11-25T18:00:00Z"}}
const shardEnvelopeKey = "port_aws_exporter"

// ShardMessageVersion is the version of the shard message format this binary
// writes and reads. A reader refuses other versions (permanent failure) rather
// than guess at a format it does not know.
const ShardMessageVersion = 1

// ShardRequest asks for a full sync of one shard.
type ShardRequest struct {
	AccountID      string   `json:"account_id"`
	Region         string   `json:"region"`
	Kind           string   `json:"kind"`
	ResourceModels []string `json:"resource_models,omitempty"`
	// RequestedAt is when the fan-out asked for it, for logs and message age.
	RequestedAt time.Time `json:"-"`
}

// Key names the shard: shard messages with equal keys in one batch run once.
func (s ShardRequest) Key() string {
	return "shard\x00" + s.AccountID + "\x00" + s.Region + "\x00" + s.Kind
}

func (s ShardRequest) String() string { return s.AccountID + "/" + s.Region + "/" + s.Kind }

type shardEnvelope struct {
	Version     int           `json:"version"`
	SyncShard   *ShardRequest `json:"sync_shard"`
	RequestedAt time.Time     `json:"requested_at,omitzero"`
}

// ShardMessageBody encodes a shard request as a queue message body.
func ShardMessageBody(req ShardRequest) ([]byte, error) {
	at := req.RequestedAt
	if at.IsZero() {
		at = time.Now().UTC()
	}
	body, err := json.Marshal(map[string]shardEnvelope{
		shardEnvelopeKey: {Version: ShardMessageVersion, SyncShard: &req, RequestedAt: at.Truncate(time.Second)},
	})
	if err != nil {
		return nil, fmt.Errorf("encode shard message for %s: %w", req, err)
	}
	return body, nil
}

func parseShardRequest(raw any) (ShardRequest, error) {
	// raw came out of encoding/json, so it encodes back without error.
	b, _ := json.Marshal(raw)
	var env shardEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "%s is not a shard message: %v", shardEnvelopeKey, err)
	}
	if env.Version != ShardMessageVersion {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard message version %d, this exporter reads version %d", env.Version, ShardMessageVersion)
	}
	if env.SyncShard == nil {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard message has no sync_shard")
	}
	s := *env.SyncShard
	if s.AccountID == "" || s.Region == "" || s.Kind == "" {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard message needs account_id, region and kind, got %q, %q, %q", s.AccountID, s.Region, s.Kind)
	}
	if !regionPattern.MatchString(s.Region) {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard region %q is not an AWS region", s.Region)
	}
	if !resourceTypePattern.MatchString(s.Kind) {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard kind %q is not a CloudFormation type name", s.Kind)
	}
	s.RequestedAt = env.RequestedAt
	return s, nil
}
