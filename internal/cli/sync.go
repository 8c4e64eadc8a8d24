package cli

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/plan"
)

// SyncFlags are the sync knobs as given on the command line or in the
// environment; Settings turns them into exporter.SyncSettings. The flag
// definitions below are the one place their defaults live.
type SyncFlags struct {
	Concurrency           int
	MaxDeleteShare        float64
	Policy                string
	AWSRequestsPerSecond  float64
	PortRequestsPerSecond float64
	AWSAccounts           string

	flags *pflag.FlagSet // to tell a given --max-delete-share from its default
}

// BindSyncFlags adds the sync knobs to a flag set, each with its
// environment variable, so that Lambda, which has no flags, can set them too.
func BindSyncFlags(f *pflag.FlagSet) *SyncFlags {
	s := BindShardFlags(f)
	f.IntVar(&s.Concurrency, "concurrency", s.Concurrency, "shards (account, region, kind) synced at once")
	BindEnv(f, "concurrency", "SYNC_CONCURRENCY")
	return s
}

// BindShardFlags adds the sync knobs that apply to one shard or one event
// (handle, lambda): all but --concurrency, which only a full sync in this
// process uses (Lambda fans its full sync out as one message per shard);
// Concurrency keeps its default.
func BindShardFlags(f *pflag.FlagSet) *SyncFlags {
	s := &SyncFlags{Concurrency: 4, flags: f}
	f.Float64Var(&s.MaxDeleteShare, "max-delete-share", 0.5,
		"largest share of a shard's owned entities one sync may delete; above it, the shard's deletions are withheld; 0 withholds every stale deletion")
	BindEnv(f, "max-delete-share", "MAX_DELETE_SHARE")
	f.StringVar(&s.Policy, "policy", "sync", "sync (upsert and delete stale) or upsert-only")
	BindEnv(f, "policy", "SYNC_POLICY")
	// No ceiling by default: the pace of each region starts at 10 calls/s,
	// grows while AWS answers and is cut on ThrottlingException (AWS
	// publishes no Cloud Control rate, so no user could know what to set).
	s.AWSRequestsPerSecond = math.Inf(1)
	f.Var((*ceiling)(&s.AWSRequestsPerSecond), "aws-requests-per-second",
		"highest Cloud Control calls per second per region; the pace below it adapts to what AWS allows (none: no ceiling)")
	BindEnv(f, "aws-requests-per-second", "AWS_REQUESTS_PER_SECOND")
	// No ceiling by default either: the Port client paces at the budget
	// Port's x-ratelimit-* headers state, from Port's published 35,000
	// requests per 5 minutes until the first answer.
	s.PortRequestsPerSecond = math.Inf(1)
	f.Var((*ceiling)(&s.PortRequestsPerSecond), "port-requests-per-second",
		"highest Port API requests per second; the pace below it is the budget Port's rate-limit headers state (none: no ceiling)")
	BindEnv(f, "port-requests-per-second", "PORT_REQUESTS_PER_SECOND")
	f.StringVar(&s.AWSAccounts, "aws-accounts", "",
		"the accounts to read, as the config's aws block in JSON or YAML (accounts, or organization: docs/accounts.md); replaces the config's")
	BindEnv(f, "aws-accounts", "AWS_ACCOUNTS_CONFIG")
	return s
}

// Settings are the built, validated settings: the policy from
// plan.Policies, and every number as given (0 stays 0).
func (s *SyncFlags) Settings() (exporter.SyncSettings, error) {
	policy, ok := plan.Policies[s.Policy]
	if !ok {
		return exporter.SyncSettings{}, fmt.Errorf("unknown policy %q (known: %s)", s.Policy, strings.Join(plan.PolicyNames(), ", "))
	}
	set := exporter.SyncSettings{
		Concurrency:    s.Concurrency,
		Policy:         policy,
		MaxDeleteShare: s.MaxDeleteShare,
		// Given on the command line, or by its variable (ApplyEnvironment
		// sets the value without marking the flag changed).
		MaxDeleteShareGiven:   s.flags != nil && (s.flags.Changed("max-delete-share") || os.Getenv("MAX_DELETE_SHARE") != ""),
		AWSRequestsPerSecond:  s.AWSRequestsPerSecond,
		PortRequestsPerSecond: s.PortRequestsPerSecond,
		AWSAccounts:           s.AWSAccounts,
	}
	return set, set.Validate()
}

// SyncDefaults are the settings of a command given no sync flag and no
// variable: the flag definitions' defaults (the demo and the benchmarks
// start from them).
func SyncDefaults() exporter.SyncSettings {
	f := pflag.NewFlagSet("defaults", pflag.PanicOnError)
	s, err := BindSyncFlags(f).Settings()
	if err != nil {
		panic(fmt.Sprintf("the sync flags' defaults do not validate: %v", err)) // a programming error
	}
	return s
}

// EventFlags are the event handling knobs.
type EventFlags struct {
	Concurrency int
	Timeout     time.Duration
	VerifyDelay time.Duration
}

// BindEventFlags adds the event knobs to a flag set.
func BindEventFlags(f *pflag.FlagSet) *EventFlags {
	e := &EventFlags{}
	f.IntVar(&e.Concurrency, "event-concurrency", 16, "resources of one message batch reconciled at once")
	BindEnv(f, "event-concurrency", "EVENT_CONCURRENCY")
	f.DurationVar(&e.Timeout, "event-timeout", 20*time.Second, "longest reconcile of one message; what has not finished is retried")
	BindEnv(f, "event-timeout", "EVENT_TIMEOUT")
	f.DurationVar(&e.VerifyDelay, "event-verify-delay", 30*time.Second,
		"every message that wrote is reconciled once more this much later, so that replicas and concurrent invocations converge on AWS; must exceed --event-timeout (0 disables)")
	BindEnv(f, "event-verify-delay", "EVENT_VERIFY_DELAY")
	return e
}

// Settings are the built, validated event settings.
func (e *EventFlags) Settings() (exporter.EventSettings, error) {
	set := exporter.EventSettings{Concurrency: e.Concurrency, Timeout: e.Timeout, VerifyDelay: e.VerifyDelay}
	return set, set.Validate()
}

// EventDefaults are the event settings given no flag and no variable.
func EventDefaults() exporter.EventSettings {
	f := pflag.NewFlagSet("defaults", pflag.PanicOnError)
	e, err := BindEventFlags(f).Settings()
	if err != nil {
		panic(fmt.Sprintf("the event flags' defaults do not validate: %v", err)) // a programming error
	}
	return e
}

// ceiling is a rate flag whose value "none" (the default) means no ceiling.
type ceiling float64

func (c *ceiling) String() string {
	if math.IsInf(float64(*c), 1) {
		return "none"
	}
	return strconv.FormatFloat(float64(*c), 'g', -1, 64)
}

func (c *ceiling) Set(v string) error {
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		*c = ceiling(math.Inf(1))
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) {
		return fmt.Errorf("want a number above 0, or none")
	}
	*c = ceiling(f)
	return nil
}

func (c *ceiling) Type() string { return "rate" }
