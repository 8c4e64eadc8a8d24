package exporter

import (
	"errors"
	"fmt"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/plan"
)

// SyncSettings are the built knobs of a sync. Every field is explicit: the
// CLI layer (internal/cli, the flag definitions) holds the defaults, and a
// zero here means zero (a MaxDeleteShare of 0 withholds every stale
// deletion), or is refused by Validate where zero has no meaning.
type SyncSettings struct {
	// Concurrency is how many shards (account, region, kind) sync at once.
	Concurrency int
	// Policy is a value of plan.Policies (sync, upsert-only).
	Policy plan.Policy
	// MaxDeleteShare is the largest share of a shard's owned entities one
	// sync may delete, between 0 and 1; 0 deletes nothing stale.
	MaxDeleteShare float64
	// MaxDeleteShareGiven is set when the user gave MaxDeleteShare (flag or
	// variable): it then wins over a port-app-config's entityDeletionThreshold,
	// which otherwise replaces the default.
	MaxDeleteShareGiven bool
	// AWSRequestsPerSecond paces Cloud Control calls per region.
	AWSRequestsPerSecond float64
	// PortRequestsPerSecond is the ceiling of the Port pace (+Inf: none);
	// below it the client paces at the budget Port's headers state.
	PortRequestsPerSecond float64
	// DryRun plans and writes nothing.
	DryRun bool
	// AWSAccounts, when set, is an aws block (JSON or YAML) that replaces
	// the config's: the accounts to read (docs/accounts.md).
	AWSAccounts string

	// Experiments (bench only; the product commands have no flags for them):
	// 0 leaves the component's own choice.
	WriteConcurrency int // upsert requests in flight across shards
	GetConcurrency   int // GetResource calls in flight per region (cap)
	// PortUnpaced leaves the Port client unpaced (only 429s slow it down),
	// whatever PortRequestsPerSecond says.
	PortUnpaced bool
}

// Validate rejects settings that would silently do something else than asked:
// the Cloud Control reader and the Port client treat a zero rate as "default"
// and a negative one as "unpaced", and the controller runs 0 shards at once as 1.
func (s SyncSettings) Validate() error {
	if s.Policy == nil {
		return errors.New("no sync policy")
	}
	if !(s.MaxDeleteShare >= 0 && s.MaxDeleteShare <= 1) { // also refuses NaN
		return fmt.Errorf("max delete share %v is not between 0 and 1", s.MaxDeleteShare)
	}
	if s.Concurrency < 1 {
		return fmt.Errorf("concurrency %d: want at least 1 shard at once", s.Concurrency)
	}
	if !(s.AWSRequestsPerSecond > 0) {
		return fmt.Errorf("aws requests per second %v: want a number above 0", s.AWSRequestsPerSecond)
	}
	if !(s.PortRequestsPerSecond > 0) && !s.PortUnpaced {
		return fmt.Errorf("port requests per second %v: want a number above 0", s.PortRequestsPerSecond)
	}
	if s.WriteConcurrency < 0 || s.GetConcurrency < 0 {
		return fmt.Errorf("write concurrency %d, get concurrency %d: cannot be negative", s.WriteConcurrency, s.GetConcurrency)
	}
	return nil
}

// EventSettings are the knobs of event handling.
type EventSettings struct {
	// Concurrency is how many resources of one message batch are reconciled at once.
	Concurrency int
	// Timeout bounds one message's reconcile.
	Timeout time.Duration
	// VerifyDelay is when a message that wrote is verified (0: never).
	VerifyDelay time.Duration
	// Verifier sends the verifications (the events queue); nil: none.
	Verifier dispatch.Verifier
	// Continuations, when set, run shard messages as runs of segments
	// within each invocation's deadline (Lambda); ignored in a dry run.
	Continuations *dispatch.Continuations
}

// Validate refuses settings the handler would silently replace.
func (s EventSettings) Validate() error {
	if s.Concurrency < 1 {
		return fmt.Errorf("event concurrency %d: want at least 1", s.Concurrency)
	}
	if s.Timeout <= 0 {
		return fmt.Errorf("event timeout %v: want above 0", s.Timeout)
	}
	if s.VerifyDelay != 0 && s.VerifyDelay <= s.Timeout {
		return fmt.Errorf("event verify delay %v must exceed the event timeout %v (or be 0 to disable verifications)", s.VerifyDelay, s.Timeout)
	}
	if s.VerifyDelay > 15*time.Minute {
		return fmt.Errorf("event verify delay %v: SQS delays a message at most 15 minutes", s.VerifyDelay)
	}
	return nil
}
