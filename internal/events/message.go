// Package events is the message contract of the events queue, and nothing
// else: pure functions from a message body to a Decision, with no I/O.
//
// Event messages follow Port's AWS exporter (a JSON body whose region, action
// and identifier are jq expressions evaluated against the message itself),
// with this exporter's optional resource_identifier and entity_identifier.
// The same queue carries the exporter's own shard messages (a scheduled Lambda
// invocation fans a full sync out with them), which must carry a signature
// only the exporter can make (shard.go).
//
// Every string in a message may be hostile: EventBridge inserts CloudTrail
// values into its template unescaped, and CloudTrail records failed calls
// with the caller's own parameters. So a body with a duplicate key is refused
// (a well-formed template never produces one; an injected value does), the
// expressions are bounded before they are parsed, and nothing a message says
// is ever taken as proof: internal/controller reads AWS before any deletion.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/jq"
)

// Action is what a message asks for.
type Action string

const (
	ActionUpsert Action = "upsert"
	ActionDelete Action = "delete"
)

// Message is one parsed queue message: either an event about one resource
// (ResourceType, Region, Action and Identifier are set; the last three are jq
// expressions) or, when Shard is set, a request to sync one shard.
type Message struct {
	ResourceType string
	// RegionExpr, ActionExpr and IdentifierExpr are the jq expressions as
	// written in the message. ActionExpr is empty when the message has none.
	RegionExpr     string
	ActionExpr     string
	IdentifierExpr string
	// ResourceIdentifierExpr and EntityIdentifierExpr are the optional fields
	// of this exporter's extension (empty when the message has none): the
	// resource's Cloud Control identifier and its Port entity identifier,
	// whatever the action. Kinds whose entity is named by ARN but looked up by
	// name need both to reconcile fully from one message.
	ResourceIdentifierExpr string
	EntityIdentifierExpr   string
	// AccountIDExpr is the optional account_id (a jq expression like
	// region): the account the resource is in. Empty: the exporter's own
	// account, as in the seed's contract.
	AccountIDExpr string
	// Document is the whole message as JSON values: the input of the expressions.
	Document map[string]any

	// Shard is set for the exporter's own shard messages, and then only it.
	Shard *ShardRequest
}

// Decision is what an event message evaluates to.
type Decision struct {
	ResourceType string `json:"resource_type"`
	Region       string `json:"region"`
	Action       Action `json:"action"`
	Identifier   string `json:"identifier"`
	// ResourceIdentifier and EntityIdentifier are the values of the optional
	// resource_identifier and entity_identifier fields ("" when absent).
	ResourceIdentifier string `json:"resource_identifier,omitempty"`
	EntityIdentifier   string `json:"entity_identifier,omitempty"`
	// AccountID is the value of account_id ("" when absent: the exporter's own account).
	AccountID string `json:"account_id,omitempty"`
}

// LookupIdentifier is the Cloud Control identifier to read the resource with:
// an upsert's identifier, or a delete's resource_identifier when it has one.
// A delete without one is looked up by its entity identifier, which is the
// Cloud Control identifier too for kinds that name their entities by it.
func (d Decision) LookupIdentifier() string {
	if d.Action == ActionDelete && d.ResourceIdentifier != "" {
		return d.ResourceIdentifier
	}
	return d.Identifier
}

// DeleteIdentifier is the Port entity identifier to delete when the resource
// is gone: a delete's identifier, or an upsert's entity_identifier when it has
// one (else its identifier, as the seed's exporter did).
func (d Decision) DeleteIdentifier() string {
	if d.Action == ActionUpsert && d.EntityIdentifier != "" {
		return d.EntityIdentifier
	}
	return d.Identifier
}

// Key names the resource a decision is about: messages with equal keys in one
// batch are reconciled once. It is built from the Cloud Control identifier, so
// an upsert (named by the resource) and a delete carrying resource_identifier
// (named by the entity) of one resource share it.
func (d Decision) Key() string {
	key := d.ResourceType + "\x00" + d.Region + "\x00" + d.LookupIdentifier()
	if d.AccountID != "" {
		// Same-named resources of two accounts are two reconciles.
		key = d.AccountID + "\x00" + key
	}
	return key
}

// ErrPermanent matches (errors.Is) every error that retrying cannot fix: the
// message must go to the dead-letter queue instead of being redelivered.
var ErrPermanent = errors.New("permanent failure")

// Reasons of permanent failures: the value of the dead-letter message's reason attribute.
const (
	ReasonMalformedJSON       = "malformed_json"
	ReasonMissingField        = "missing_field"
	ReasonInvalidField        = "invalid_field"
	ReasonJQError             = "jq_error"
	ReasonBadAction           = "bad_action"
	ReasonBadRegion           = "bad_region"
	ReasonBadAccount          = "bad_account"
	ReasonUnknownAccount      = "unknown_account"
	ReasonBadIdentifier       = "bad_identifier"
	ReasonIdentifierMismatch  = "identifier_mismatch"
	ReasonUnknownResourceType = "unknown_resource_type"
	ReasonMappingError        = "mapping_error"
	ReasonPortRejected        = "port_rejected"
	ReasonAWSRejected         = "aws_rejected"
	ReasonBadShardMessage     = "bad_shard_message"
	ReasonForgedShardMessage  = "forged_shard_message"
	ReasonDuplicateKey        = "duplicate_key"
	ReasonTooLarge            = "too_large"
)

// PermanentError is a failure that retrying cannot fix, with a short
// machine-readable Reason (one of the Reason constants).
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermanent) true for every PermanentError.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

func permanent(reason string, format string, args ...any) error {
	return &PermanentError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the Reason of a permanent error, or "" for any other error.
func ReasonOf(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}

// resourceTypePattern accepts CloudFormation type names (AWS::Lambda::Function,
// third-party Org::Service::Thing); the mapper decides whether the config knows it.
var resourceTypePattern = regexp.MustCompile(`^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$`)

// MaxBodyBytes bounds a message body: SQS's own limit is 256 KiB, and an
// event message is a few hundred bytes (EventBridge's template is at most
// 8,192 characters before the values are inserted).
const MaxBodyBytes = 256 << 10

// ParseMessage parses an event message body; a shard message is refused as
// forged, since it carries no signature here. Use Parse for queue messages.
func ParseMessage(body []byte) (Message, error) { return Parse(body, nil, nil) }

// Parse parses a queue message body with its SQS message attributes. It
// checks the shape only; the jq expressions are evaluated by Evaluate. A
// shard message must carry a valid signature under key (nil: this runtime
// takes no shard messages). Every error is permanent.
func Parse(body []byte, attributes map[string]string, key *ShardKey) (Message, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Message{}, permanent(ReasonMalformedJSON, "message body is empty")
	}
	if len(body) > MaxBodyBytes {
		return Message{}, permanent(ReasonTooLarge, "message body is %d bytes, more than the %d an event message can be", len(body), MaxBodyBytes)
	}
	if err := checkKeys(body); err != nil {
		return Message{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return Message{}, permanent(ReasonMalformedJSON, "%s", describeJSONError(err))
	}
	if doc == nil {
		return Message{}, permanent(ReasonMalformedJSON, "message body is null, want a JSON object")
	}
	if raw, ok := doc[shardEnvelopeKey]; ok {
		if err := key.verify(body, attributes); err != nil {
			return Message{}, err
		}
		shard, err := parseShardRequest(raw)
		if err != nil {
			return Message{}, err
		}
		return Message{Shard: &shard, Document: doc}, nil
	}

	msg := Message{Document: doc}
	var err error
	if msg.ResourceType, err = stringField(doc, "resource_type", true); err != nil {
		return Message{}, err
	}
	if !resourceTypePattern.MatchString(msg.ResourceType) {
		return Message{}, permanent(ReasonInvalidField, "resource_type %q is not a CloudFormation type name like AWS::Lambda::Function", msg.ResourceType)
	}
	if msg.RegionExpr, err = stringField(doc, "region", true); err != nil {
		return Message{}, err
	}
	if msg.IdentifierExpr, err = stringField(doc, "identifier", true); err != nil {
		return Message{}, err
	}
	if msg.ActionExpr, err = stringField(doc, "action", false); err != nil {
		return Message{}, err
	}
	if msg.ResourceIdentifierExpr, err = stringField(doc, "resource_identifier", false); err != nil {
		return Message{}, err
	}
	if msg.EntityIdentifierExpr, err = stringField(doc, "entity_identifier", false); err != nil {
		return Message{}, err
	}
	if msg.AccountIDExpr, err = stringField(doc, "account_id", false); err != nil {
		return Message{}, err
	}
	return msg, nil
}

// stringField reads a string field; a missing, null or blank optional field is "".
func stringField(doc map[string]any, name string, required bool) (string, error) {
	v, ok := doc[name]
	if !ok || v == nil {
		if required {
			if near := nearMissKey(doc, name); near != "" {
				return "", permanent(ReasonMissingField, "message has no %q field (it has %q: field names are lower case with underscores)", name, near)
			}
			return "", permanent(ReasonMissingField, "message has no %q field", name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", permanent(ReasonInvalidField, "field %q is %s, want a string", name, jsonType(v))
	}
	if strings.TrimSpace(s) == "" {
		if required {
			return "", permanent(ReasonMissingField, "field %q is empty", name)
		}
		return "", nil
	}
	return s, nil
}

// nearMissKey finds a key of doc that is name written another way
// ("resource-type", "Resource_Type", "resourceType"), the usual typo in a
// hand-written InputTemplate.
func nearMissKey(doc map[string]any, name string) string {
	fold := func(k string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
	}
	for k := range doc {
		if k != name && fold(k) == fold(name) {
			return k
		}
	}
	return ""
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// validRegion accepts the region names of every AWS partition, by the SDK's
// patterns (us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1,
// eusc-de-east-1: internal/catalog): an expression that yields an empty or
// odd string is a broken rule, not a region.
func validRegion(s string) bool { return catalog.ValidRegion(s) }

// accountPattern is an AWS account ID.
var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Evaluate runs the message's expressions against the message itself. Errors
// are permanent, except when ctx itself ends (then ctx's error is returned).
func Evaluate(ctx context.Context, msg Message) (Decision, error) {
	if msg.Shard != nil {
		return Decision{}, permanent(ReasonInvalidField, "a shard message has no resource decision")
	}
	d := Decision{ResourceType: msg.ResourceType, Action: ActionUpsert}
	region, err := evalString(ctx, msg, "region", msg.RegionExpr)
	if err != nil {
		return Decision{}, err
	}
	if !validRegion(region) {
		return Decision{}, permanent(ReasonBadRegion, "region expression %q yielded %q, which is not an AWS region", msg.RegionExpr, region)
	}
	d.Region = region

	if msg.AccountIDExpr != "" {
		account, err := evalString(ctx, msg, "account_id", msg.AccountIDExpr)
		if err != nil {
			return Decision{}, err
		}
		if !accountPattern.MatchString(account) {
			return Decision{}, permanent(ReasonBadAccount, "account_id expression %q yielded %q, which is not an AWS account ID (12 digits)", msg.AccountIDExpr, account)
		}
		d.AccountID = account
	}

	if msg.ActionExpr != "" {
		action, err := evalString(ctx, msg, "action", msg.ActionExpr)
		if err != nil {
			return Decision{}, err
		}
		switch Action(strings.ToLower(strings.TrimSpace(action))) {
		case ActionUpsert:
			d.Action = ActionUpsert
		case ActionDelete:
			d.Action = ActionDelete
		default:
			return Decision{}, permanent(ReasonBadAction, "action expression %q yielded %q, want upsert or delete", msg.ActionExpr, action)
		}
	}

	id, err := evalString(ctx, msg, "identifier", msg.IdentifierExpr)
	if err != nil {
		return Decision{}, err
	}
	if strings.TrimSpace(id) == "" {
		return Decision{}, permanent(ReasonBadIdentifier, "identifier expression %q yielded an empty string", msg.IdentifierExpr)
	}
	d.Identifier = id
	if err := evaluateExtension(ctx, msg, &d); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// evaluateExtension evaluates resource_identifier and entity_identifier, the
// optional fields of this exporter's extension, and checks them against
// identifier: an upsert's identifier is the Cloud Control identifier and a
// delete's the entity identifier, so a rule whose fields disagree there is
// broken, and guessing which one is right could delete the wrong entity.
func evaluateExtension(ctx context.Context, msg Message, d *Decision) error {
	if msg.ResourceIdentifierExpr != "" {
		id, err := evalString(ctx, msg, "resource_identifier", msg.ResourceIdentifierExpr)
		if err != nil {
			return err
		}
		if strings.TrimSpace(id) == "" {
			return permanent(ReasonBadIdentifier, "resource_identifier expression %q yielded an empty string", msg.ResourceIdentifierExpr)
		}
		if d.Action == ActionUpsert && id != d.Identifier {
			return permanent(ReasonIdentifierMismatch, "upsert identifier %q (the Cloud Control identifier) differs from resource_identifier %q", d.Identifier, id)
		}
		d.ResourceIdentifier = id
	}
	if msg.EntityIdentifierExpr != "" {
		id, err := evalString(ctx, msg, "entity_identifier", msg.EntityIdentifierExpr)
		if err != nil {
			return err
		}
		if strings.TrimSpace(id) == "" {
			return permanent(ReasonBadIdentifier, "entity_identifier expression %q yielded an empty string", msg.EntityIdentifierExpr)
		}
		if err := entity.ValidateIdentifier(id); err != nil {
			return permanent(ReasonBadIdentifier, "entity_identifier expression %q yielded %q, which is not a Port identifier: %v", msg.EntityIdentifierExpr, id, err)
		}
		if d.Action == ActionDelete && id != d.Identifier {
			return permanent(ReasonIdentifierMismatch, "delete identifier %q (the entity identifier) differs from entity_identifier %q", d.Identifier, id)
		}
		d.EntityIdentifier = id
	}
	return nil
}

// evalString evaluates one expression, which must yield exactly one string
// (a number is accepted and formatted, as some identifiers are numeric).
func evalString(ctx context.Context, msg Message, field, expr string) (string, error) {
	if err := checkExpressionBounds(expr); err != nil {
		return "", &PermanentError{Reason: ReasonJQError, Err: fmt.Errorf("field %q: %w", field, err)}
	}
	q, err := jq.CompileMessage(expr)
	if err != nil {
		if bareLiteral.MatchString(expr) {
			err = fmt.Errorf("%w; region, action and the identifiers are jq expressions: write the literal in jq quotes: %q", err, `"`+expr+`"`)
		}
		return "", &PermanentError{Reason: ReasonJQError, Err: fmt.Errorf("field %q: %w", field, err)}
	}
	out, err := q.Run(ctx, msg.Document)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("evaluate field %q: %w", field, ctx.Err())
		}
		return "", &PermanentError{Reason: ReasonJQError, Err: fmt.Errorf("field %q: %w", field, err)}
	}
	if len(out) != 1 {
		return "", permanent(reasonFor(field), "%s expression %q yielded %d values, want exactly one string", field, expr, len(out))
	}
	switch v := out[0].(type) {
	case string:
		if len(v) > MaxValueBytes {
			// The value names a resource: it becomes a batch key, a lock, a
			// Cloud Control identifier and a log line, so a 50-byte
			// expression must not make it megabytes.
			return "", permanent(reasonFor(field), "%s expression %q yielded %d bytes, more than the %d an identifier, region or action can be", field, truncateForError(expr), len(v), MaxValueBytes)
		}
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10), nil
		}
	}
	return "", permanent(reasonFor(field), "%s expression %q yielded %s, want a string", field, expr, jsonType(out[0]))
}

// MaxValueBytes bounds what one expression may yield: as long as the
// longest expression (a literal yields about its own length), twice the
// longest ARN; no Cloud Control identifier or region comes near it.
const MaxValueBytes = 4 << 10

// truncateForError keeps an error about a hostile expression short.
func truncateForError(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// bareLiteral matches a value written without jq quotes ("us-east-1",
// "delete", "my-function"), the most common mistake in a hand-written rule:
// jq reads it as function calls and subtractions, and the compile error alone
// does not say what to do.
var bareLiteral = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_:/+=@-]*$`)

func reasonFor(field string) string {
	switch field {
	case "region":
		return ReasonBadRegion
	case "action":
		return ReasonBadAction
	case "account_id":
		return ReasonBadAccount
	}
	return ReasonBadIdentifier
}

// describeJSONError says why a body is not a JSON object in the terms of the
// body (byte offset, JSON type), not of the Go value it was decoded into.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("message body is not JSON: at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("message body is a JSON %s, want an object", typ.Value)
	}
	return fmt.Sprintf("message body is not a JSON object: %v", err)
}
