package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Shard messages let a scheduled Lambda invocation fan a full sync out: it
// sends one message per shard (account, region, kind) to the events queue, and
// each is then synced by its own invocation, well within Lambda's 15 minutes.
// A shard that fails transiently is redelivered by SQS like any message.
//
//	{"port_aws_exporter": {"version": 2, "sync_shard": {"account_id": "123456789012",
//	  "region": "eu-west-1", "kind": "AWS::Lambda::Function"},
//	  "requested_at": "2026-11-25T18:00:00Z"}}
//
// A shard message makes the exporter list and delete, so only the exporter
// may write one. EventBridge's SQS targets cannot set message attributes, and
// the body could be forged through an injected template value, so each shard
// message carries the attribute SignatureAttribute: an HMAC-SHA256 of the body
// under a key derived from a secret the exporter holds (the Port client
// secret). A body without a valid signature is dead-lettered as
// forged_shard_message. The message names the shard only: what to list (the
// resource models of child types) is taken from the config, never from it.
const shardEnvelopeKey = "port_aws_exporter"

// ShardMessageVersion is the version of the shard message format this binary
// writes and reads. Version 1 carried resource_models and no signature; it is
// refused like any other version.
const ShardMessageVersion = 2

// SignatureAttribute is the SQS message attribute holding a shard message's signature.
const SignatureAttribute = "port-aws-exporter-signature"

// ShardKey signs and verifies shard messages.
type ShardKey struct{ key []byte }

// NewShardKey derives the shard-message key from secret. The derivation
// binds the key to this use, so the secret itself never signs anything.
func NewShardKey(secret string) (*ShardKey, error) {
	if secret == "" {
		return nil, errors.New("shard message key: no secret to derive a key from")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("port-aws-exporter shard message key v2"))
	return &ShardKey{key: mac.Sum(nil)}, nil
}

func (k *ShardKey) sign(body []byte) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a shard message's signature.
func (k *ShardKey) verify(body []byte, attributes map[string]string) error {
	if k == nil {
		return permanent(ReasonForgedShardMessage, "a shard message arrived where this runtime takes none (no shard key)")
	}
	got, ok := attributes[SignatureAttribute]
	if !ok {
		return permanent(ReasonForgedShardMessage, "shard message without the %s attribute: only the exporter writes shard messages", SignatureAttribute)
	}
	want := k.sign(body)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return permanent(ReasonForgedShardMessage, "shard message whose %s attribute does not match its body", SignatureAttribute)
	}
	return nil
}

// ShardRequest asks for a full sync of one shard.
type ShardRequest struct {
	Shard source.Shard
	// RequestedAt is when the fan-out asked for it, for logs and message age.
	RequestedAt time.Time
	// Continuation is set on the message a segment of a shard's run sends
	// for the next one (see internal/continuation); nil starts a new run.
	Continuation *Continuation
}

// Continuation is where a shard's run resumes. It is signed with the rest
// of the message, so the token and the state it carries are the exporter's.
type Continuation struct {
	RunID        string    `json:"run_id"`
	RunStartedAt time.Time `json:"run_started_at"`
	// Seq is the segment this message asks for (the first sends 1).
	Seq    int           `json:"seq"`
	Cursor source.Cursor `json:"cursor"`
	// Pages, Listed and Restarts count the run so far.
	Pages    int `json:"pages"`
	Listed   int `json:"listed"`
	Restarts int `json:"restarts,omitempty"`
	// State is the run's state (continuation.EncodeState) when it fits in
	// the message; otherwise StateKey names it in the continuation store.
	State    json.RawMessage `json:"state,omitempty"`
	StateKey string          `json:"state_key,omitempty"`
}

// runIDPattern: run ids are the exporter's own (crypto/rand text).
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func (c *Continuation) check() error {
	switch {
	case !runIDPattern.MatchString(c.RunID):
		return permanent(ReasonBadShardMessage, "continuation run_id %q is not a run id", c.RunID)
	case c.Seq < 1:
		return permanent(ReasonBadShardMessage, "continuation seq %d: want at least 1", c.Seq)
	case (len(c.State) == 0) == (c.StateKey == ""):
		return permanent(ReasonBadShardMessage, "continuation needs exactly one of state and state_key")
	case len(c.StateKey) > 1024:
		return permanent(ReasonBadShardMessage, "continuation state_key is %d bytes long", len(c.StateKey))
	case c.Pages < 0 || c.Listed < 0 || c.Restarts < 0:
		return permanent(ReasonBadShardMessage, "continuation counters cannot be negative")
	}
	return nil
}

// Key names the shard: shard messages with equal keys in one batch run once.
func (s ShardRequest) Key() string { return "shard\x00" + s.Shard.String() }

func (s ShardRequest) String() string { return s.Shard.String() }

type shardFields struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	Kind      string `json:"kind"`
}

type shardEnvelope struct {
	Version      int           `json:"version"`
	SyncShard    *shardFields  `json:"sync_shard"`
	RequestedAt  time.Time     `json:"requested_at,omitzero"`
	Continuation *Continuation `json:"continuation,omitempty"`
}

// ShardMessage encodes a shard request as a queue message body and the
// message attributes to send it with.
func (k *ShardKey) ShardMessage(req ShardRequest) (body []byte, attributes map[string]string, err error) {
	at := req.RequestedAt
	if at.IsZero() {
		at = time.Now().UTC()
	}
	body, err = json.Marshal(map[string]shardEnvelope{
		shardEnvelopeKey: {Version: ShardMessageVersion, RequestedAt: at.Truncate(time.Second),
			SyncShard:    &shardFields{AccountID: req.Shard.AccountID, Region: req.Shard.Region, Kind: req.Shard.Kind},
			Continuation: req.Continuation},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode shard message for %s: %w", req, err)
	}
	return body, map[string]string{SignatureAttribute: k.sign(body)}, nil
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
	if !validRegion(s.Region) {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard region %q is not an AWS region", s.Region)
	}
	if !resourceTypePattern.MatchString(s.Kind) {
		return ShardRequest{}, permanent(ReasonBadShardMessage, "shard kind %q is not a CloudFormation type name", s.Kind)
	}
	if env.Continuation != nil {
		if err := env.Continuation.check(); err != nil {
			return ShardRequest{}, err
		}
	}
	return ShardRequest{Shard: source.Shard{AccountID: s.AccountID, Region: s.Region, Kind: s.Kind}, RequestedAt: env.RequestedAt,
		Continuation: env.Continuation}, nil
}
