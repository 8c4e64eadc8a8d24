// Package exporter wires the exporter's parts from built settings: the AWS
// configuration, the config file, the Port client from credentials, the
// Cloud Control reader, the full-sync controller and the events handler.
// Every command of cmd/port-aws-exporter, cmd/demo and cmd/bench goes
// through Build: one wiring, so that what the demo and the benchmarks run is
// what the product runs. Nothing here logs a secret.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/port-labs/port-aws-exporter/internal/accounts"
	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// Options say how to build the exporter's parts for one command.
type Options struct {
	// ConfigLocation is a path or s3://bucket/key; empty means from the
	// environment (CONFIG_URL, or BUCKET_NAME + CONFIG_JSON_FILE_KEY).
	ConfigLocation string
	// NeedPort builds a Port client (credentials required).
	NeedPort bool
	// OneShot commands (sync, handle) stop when Port does not answer the
	// first token request at all; services (serve, Lambda) start anyway and
	// let their writes retry through a Port outage.
	OneShot bool
	// AccountID skips the STS lookup when set.
	AccountID string
	Sync      SyncSettings
	// Events builds the events handler when set (serve, Lambda, handle).
	Events *EventSettings
	// Target, called once everything else is built, makes where the sync
	// writes when there is no Port client (sync --output creates its file
	// only then); nil means nowhere (a dry run without Port).
	Target func() (controller.Target, error)
	// OnShardStart reports each shard as it starts (sync's progress on a terminal).
	OnShardStart func(source.Shard)
	Logger       *slog.Logger
	// AWSOptions adjust the SDK config (endpoints and credentials of the
	// demo's and the benchmarks' testbeds).
	AWSOptions []func(*awsconfig.LoadOptions) error
	// Port overrides the environment's Port settings when its ClientID is
	// set (the testbeds' Port double); only BaseURL, ClientID and
	// ClientSecret are read.
	Port port.Config
	// Metrics, when set, observe AWS and Port requests, shards and events (serve).
	Metrics *metrics.Metrics
}

// Built is everything a command needs to sync or handle events.
type Built struct {
	Config *config.Config
	Mapper *mapping.Mapper
	// Source is the account's Cloud Control reader; Readers are all its
	// readers (Cloud Control, Describe, S3 buckets), which the controller reads through.
	Source  *source.CloudControl
	Readers *Readers
	Port    *port.Client // nil unless Options.NeedPort
	// Controller is the one reconcile path, for the full sync and events.
	Controller *controller.Controller
	// Events dispatches queue messages to the controller; nil unless Options.Events.
	Events *dispatch.Handler
	// ShardKey signs and verifies shard messages; nil without Port
	// credentials (the key is derived from the Port client secret).
	ShardKey  *events.ShardKey
	AccountID string
	Accounts  *accounts.Set // of the config's aws block (accounts.go); nil: the own account alone
	AWS       aws.Config
	Logger    *slog.Logger

	portLatency *upsertLatency // of bulk upserts, for the write slots
}

// Build loads the AWS config, the exporter config and the Port credentials
// and wires the parts.
func Build(ctx context.Context, opts Options) (*Built, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := opts.Sync.Validate(); err != nil {
		return nil, err
	}
	if opts.Events != nil {
		if err := opts.Events.Validate(); err != nil {
			return nil, err
		}
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts.AWSOptions...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	location := opts.ConfigLocation
	if location == "" {
		if location, err = ConfigLocationFromEnv(); err != nil {
			return nil, err
		}
	}
	cfg, err := loadConfig(ctx, location, awsCfg)
	if err != nil {
		return nil, err
	}
	if err := applyAWSAccounts(cfg, opts.Sync.AWSAccounts, log); err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "file", cfg.Source, "path", w.Path, "message", w.Message)
	}
	for _, n := range cfg.Notes {
		log.Debug("config note", "file", cfg.Source, "path", n.Path, "message", n.Message)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		return nil, err
	}
	mapper.SetLogger(log)
	// Without a region the SDK cannot even reach STS, and its own message
	// ("endpoint rule error, Invalid Configuration: Missing Region") does not
	// say which setting is missing.
	if awsCfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or the region of the AWS profile in use); " +
			"it is also the region of config entries that name none in selector.aws.regions")
	}
	// With an aws block the accounts' enabled regions are discovered, which
	// is what the check stands in for.
	if err := checkRegionPolicies(mapper, awsCfg.Region); err != nil && cfg.AWS == nil && opts.Sync.AWSAccounts == "" {
		return nil, err
	}
	accountID := opts.AccountID
	if accountID == "" {
		if accountID, err = source.AccountID(ctx, awsCfg); err != nil {
			return nil, err // names sts:GetCallerIdentity
		}
	}
	srcOpts := source.Options{
		RequestsPerSecond: opts.Sync.AWSRequestsPerSecond,
		GetConcurrency:    opts.Sync.GetConcurrency,
		Logger:            log,
	}
	if opts.Metrics != nil {
		srcOpts.Observe = opts.Metrics.ObserveAWS
		srcOpts.OnRate = opts.Metrics.AWSPace
	}
	readers := NewReaders(mapper, awsCfg, srcOpts, awsCfg.Region)
	b := &Built{
		Config: cfg, Mapper: mapper, Source: readers.CloudControl, Readers: readers,
		AccountID: accountID, AWS: awsCfg, Logger: log, portLatency: &upsertLatency{},
	}
	if err := b.buildAccounts(ctx, srcOpts, opts.Metrics); err != nil {
		return nil, err
	}
	if opts.NeedPort {
		if b.Port, b.ShardKey, err = newPortClient(ctx, awsCfg, opts, log, b.portLatency); err != nil {
			return nil, err
		}
	}
	var tgt controller.Target
	if b.Port == nil && opts.Target != nil {
		if tgt, err = opts.Target(); err != nil {
			return nil, err
		}
	}
	if err := b.wire(opts, tgt); err != nil {
		return nil, err
	}
	return b, nil
}

// wire builds the core from the built parts and settings: the controller
// (the one reconcile path) over the Port target, and the events dispatcher.
// other is where writes go when there is no Port client (nil: nowhere). A
// dry run records through target.DryRun, whose ownership answers are Port's
// when there is a client, so it plans exactly what a real run would do.
func (b *Built) wire(opts Options, other controller.Target) error {
	var tgt controller.Target
	switch {
	case b.Port != nil && opts.Sync.DryRun:
		tgt = &target.DryRun{Registry: registry.Port{Client: b.Port}}
	case b.Port != nil:
		tgt = target.NewPort(b.Port, b.upsertOptions(), b.deleteOptions())
	case other != nil:
		tgt = other
	default:
		tgt = &target.DryRun{}
	}
	writeConcurrency := opts.Sync.WriteConcurrency
	if writeConcurrency == 0 {
		writeConcurrency = DefaultWriteConcurrency
	}
	var writeSlots func() int
	if b.Port != nil && opts.Sync.WriteConcurrency == 0 {
		// The product's default: as many writes in flight as Port's budget
		// and latency keep busy (a fixed WriteConcurrency is bench's knob).
		writeSlots = writeSlotsFor(b.Port, b.portLatency)
	}
	c, err := controller.New(controller.Parts{
		Mapper: b.Mapper, Source: b.source(), Target: tgt, Accounts: b.accountSet(),
		AccountID: b.AccountID, DefaultRegion: b.AWS.Region, Logger: b.Logger,
	}, controller.Settings{
		Concurrency:      opts.Sync.Concurrency,
		WriteConcurrency: writeConcurrency,
		WriteSlots:       writeSlots,
		Policy:           opts.Sync.Policy,
		MaxDeleteShare:   b.maxDeleteShare(opts.Sync),
		ProofListingTTL:  ProofListingTTL,
	})
	if err != nil {
		return err
	}
	c.OnShardStart = opts.OnShardStart
	if m := opts.Metrics; m != nil {
		c.OnShardDone = func(r controller.ShardReport) {
			m.ShardSynced(r.Shard.AccountID, r.Shard.Region, r.Shard.Kind, r.Duration, r.OK())
			for _, err := range r.Errors {
				m.Failure(metrics.ScopeShard, dispatch.Cause(err))
			}
		}
	}
	b.Controller = c
	if opts.Events == nil {
		return nil
	}
	do := dispatch.Options{
		ShardKey:    b.ShardKey,
		Concurrency: opts.Events.Concurrency,
		Metrics:     opts.Metrics,
		Logger:      b.Logger,
		DryRun:      opts.Sync.DryRun,
		UnitTimeout: opts.Events.Timeout,
	}
	if opts.Events.VerifyDelay > 0 && opts.Events.Verifier != nil && !opts.Sync.DryRun {
		do.Verifier, do.VerifyDelay = opts.Events.Verifier, opts.Events.VerifyDelay
	}
	if !opts.Sync.DryRun {
		do.Continuations = opts.Events.Continuations
	}
	b.Events, err = dispatch.New(c, do)
	return err
}

// LogPace logs the pace found, at the end of a sync: each region's (and,
// for the other readers, each service's) pace and the Port client's ("port pace").
func (b *Built) LogPace(logger *slog.Logger) {
	if logger == nil {
		logger = b.Logger
	}
	b.Readers.LogRates(logger)
	if b.Port != nil {
		if pace := b.Port.Pace(); math.IsInf(pace, 1) {
			logger.Info("port pace", slog.String("requests_per_second", "unpaced"))
		} else {
			logger.Info("port pace", slog.Float64("requests_per_second", math.Round(pace*100)/100))
		}
	}
}

// DefaultWriteConcurrency keeps enough upserts in flight to use Port's
// budget (about 117 requests/s at ~80 ms each needs ~10 in flight); the
// product has no flag for it (bench does).
const DefaultWriteConcurrency = 16

// ProofListingTTL is how long a listing made to prove an event's deletion
// serves later messages (that arrived before it started): long enough to
// share one listing over a burst of deletions, short enough that a shard
// is not listed for proof more than twice a minute.
const ProofListingTTL = 30 * time.Second

// upsertOptions: kinds sync concurrently, so an ECS service may land before
// its cluster; creating missing relation targets (filled in when their own
// kind syncs) is the default, and the config's createMissingRelatedEntities
// can turn it off.
func (b *Built) upsertOptions() port.UpsertOptions {
	return port.UpsertOptions{CreateMissingRelatedEntities: b.Config.CreateMissingRelatedEntities == nil || *b.Config.CreateMissingRelatedEntities}
}

// deleteOptions: Port's exporter deleted with delete_dependents=true; we keep
// dependents unless the config asks, since a dependent may not be ours.
func (b *Built) deleteOptions() port.DeleteOptions {
	return port.DeleteOptions{DeleteDependents: b.Config.DeleteDependents != nil && *b.Config.DeleteDependents}
}

// checkRegionPolicies refuses an entry whose regionPolicy leaves no region
// to read: until the account's enabled regions are discovered, a policy
// without allow reads the default region, which it may deny.
func checkRegionPolicies(m *mapping.Mapper, defaultRegion string) error {
	for _, r := range m.Resources() {
		if r.RegionPolicy() != nil && len(r.Regions(defaultRegion)) == 0 {
			return fmt.Errorf("%s.selector.regionPolicy: allows no region to read %s in: it denies the default region %s "+
				"and allows no other (list the regions in allow)", r.Path(), r.Kind, defaultRegion)
		}
	}
	return nil
}

// maxDeleteShare is the delete-share guard: a port-app-config's
// entityDeletionThreshold (Ocean's name for the same guard) replaces the
// default, and a share the user gave (flag or variable) wins over both.
func (b *Built) maxDeleteShare(s SyncSettings) float64 {
	t := b.Config.EntityDeletionThreshold
	if t == nil || s.MaxDeleteShareGiven {
		return s.MaxDeleteShare
	}
	b.Logger.Info("delete-share guard from the config's entityDeletionThreshold", "share", *t)
	return *t
}

// ConfigLocationFromEnv follows Port's exporter: CONFIG_URL, or the object
// CONFIG_JSON_FILE_KEY in BUCKET_NAME.
func ConfigLocationFromEnv() (string, error) {
	if u := os.Getenv("CONFIG_URL"); u != "" {
		return u, nil
	}
	bucket, key := os.Getenv("BUCKET_NAME"), os.Getenv("CONFIG_JSON_FILE_KEY")
	if bucket != "" && key != "" {
		return "s3://" + bucket + "/" + strings.TrimPrefix(key, "/"), nil
	}
	return "", fmt.Errorf("no config: pass --config FILE|s3://bucket/key, or set CONFIG_URL, or BUCKET_NAME and CONFIG_JSON_FILE_KEY")
}

// loadConfig reads and validates the config; an invalid config never starts a sync.
func loadConfig(ctx context.Context, location string, awsCfg aws.Config) (*config.Config, error) {
	var s3c config.S3Getter
	if strings.HasPrefix(location, "s3://") {
		s3c = s3.NewFromConfig(awsCfg)
	}
	cfg, err := config.Load(ctx, location, s3c)
	if err != nil {
		return nil, err
	}
	if problems := config.Validate(cfg); len(problems) > 0 {
		return nil, &config.ValidationError{Source: cfg.Source, Problems: problems}
	}
	return cfg, nil
}

// ReadConfig reads a config without validating it (config validate reports
// the problems itself); AWS credentials are needed only for s3:// locations.
func ReadConfig(ctx context.Context, location string) (*config.Config, error) {
	var s3c config.S3Getter
	if strings.HasPrefix(location, "s3://") {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		s3c = s3.NewFromConfig(awsCfg)
	}
	return config.Load(ctx, location, s3c)
}
