package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/credentials"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// runtimeOptions say how to build the exporter's parts for one command.
type runtimeOptions struct {
	// ConfigLocation is a path or s3://bucket/key; empty means from the
	// environment (CONFIG_URL, or BUCKET_NAME + CONFIG_JSON_FILE_KEY).
	ConfigLocation string
	// NeedPort builds a Port client (credentials required).
	NeedPort bool
	// AccountID skips the STS lookup when set.
	AccountID string
	Sync      syncSettings
	Logger    *slog.Logger
	// AWSOptions adjust the SDK config (the demo points it at the emulator).
	AWSOptions []func(*awsconfig.LoadOptions) error
	// Port overrides the environment's Port settings when its ClientID is set (the demo).
	Port port.Config
	// PortObserve and AWSObserve feed metrics when set.
	PortObserve func(route string, status int, d time.Duration)
	AWSObserve  func(op, region string, err error, d time.Duration)
}

// syncSettings are the knobs of a full sync, from flags or the environment.
type syncSettings struct {
	Concurrency        int
	MaxDeleteShare     float64
	Policy             string
	AWSRequestsPerSec  float64
	PortRequestsPerSec float64
	DryRun             bool
}

// bindSyncFlags adds the sync knobs to a command; environment variables give
// the defaults so that Lambda, which has no flags, can set them too.
func bindSyncFlags(cmd *cobra.Command, s *syncSettings) {
	f := cmd.Flags()
	f.IntVar(&s.Concurrency, "concurrency", envInt("SYNC_CONCURRENCY", 4), "shards (account, region, kind) synced at once [SYNC_CONCURRENCY]")
	f.Float64Var(&s.MaxDeleteShare, "max-delete-share", envFloat("MAX_DELETE_SHARE", plan.DefaultMaxDeleteShare),
		"largest share of a shard's owned entities one sync may delete; above it, the shard's deletions are withheld [MAX_DELETE_SHARE]")
	f.StringVar(&s.Policy, "policy", envString("SYNC_POLICY", "sync"), "sync (upsert and delete stale) or upsert-only [SYNC_POLICY]")
	f.Float64Var(&s.AWSRequestsPerSec, "aws-requests-per-second", envFloat("AWS_REQUESTS_PER_SECOND", source.DefaultRequestsPerSecond),
		"Cloud Control calls per second per region [AWS_REQUESTS_PER_SECOND]")
	f.Float64Var(&s.PortRequestsPerSec, "port-requests-per-second", envFloat("PORT_REQUESTS_PER_SECOND", port.DefaultRequestsPerSecond),
		"Port API requests per second [PORT_REQUESTS_PER_SECOND]")
}

// runtime is everything a command needs to sync or handle events.
type runtime struct {
	Config    *config.Config
	Mapper    *mapping.Mapper
	Source    *source.CloudControl
	Port      *port.Client // nil unless NeedPort
	Syncer    *controller.Syncer
	AccountID string
	AWS       aws.Config
	Logger    *slog.Logger
}

// buildRuntime loads the AWS config, the exporter config, Port credentials and
// wires the parts. Nothing here logs a secret.
func buildRuntime(ctx context.Context, opts runtimeOptions) (*runtime, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts.AWSOptions...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	location := opts.ConfigLocation
	if location == "" {
		location, err = configLocationFromEnv()
		if err != nil {
			return nil, err
		}
	}
	cfg, err := loadConfig(ctx, location, awsCfg)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "file", cfg.Source, "path", w.Path, "message", w.Message)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		return nil, err
	}
	policy, ok := plan.Policies[opts.Sync.Policy]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", opts.Sync.Policy, strings.Join(plan.PolicyNames(), ", "))
	}
	if opts.Sync.MaxDeleteShare < 0 || opts.Sync.MaxDeleteShare > 1 {
		return nil, fmt.Errorf("max delete share %v is not between 0 and 1", opts.Sync.MaxDeleteShare)
	}
	accountID := opts.AccountID
	if accountID == "" {
		if accountID, err = source.AccountID(ctx, awsCfg); err != nil {
			return nil, fmt.Errorf("find the AWS account (sts:GetCallerIdentity): %w", err)
		}
	}
	src := source.NewCloudControl(awsCfg, source.Options{
		RequestsPerSecond: opts.Sync.AWSRequestsPerSec,
		Observe:           opts.AWSObserve,
		Logger:            log,
	})
	rt := &runtime{Config: cfg, Mapper: mapper, Source: src, AccountID: accountID, AWS: awsCfg, Logger: log}
	if opts.NeedPort {
		if rt.Port, err = newPortClient(ctx, awsCfg, opts, log); err != nil {
			return nil, err
		}
	}
	rt.Syncer = &controller.Syncer{
		Mapper:         mapper,
		Source:         src,
		AccountID:      accountID,
		DefaultRegion:  awsCfg.Region,
		Concurrency:    opts.Sync.Concurrency,
		Policy:         policy,
		MaxDeleteShare: opts.Sync.MaxDeleteShare,
		DryRun:         opts.Sync.DryRun,
		Logger:         log,
	}
	if rt.Port != nil {
		rt.Syncer.Target = target.NewPort(rt.Port, rt.upsertOptions(), rt.deleteOptions())
	}
	return rt, nil
}

// upsertOptions: kinds sync concurrently, so an ECS service may land before
// its cluster; creating missing relation targets (filled in when their own
// kind syncs) is the default, and the config's createMissingRelatedEntities
// can turn it off.
func (rt *runtime) upsertOptions() port.UpsertOptions {
	return port.UpsertOptions{CreateMissingRelatedEntities: rt.Config.CreateMissingRelatedEntities == nil || *rt.Config.CreateMissingRelatedEntities}
}

// deleteOptions: Port's exporter deleted with delete_dependents=true; we keep
// dependents unless the config asks, since a dependent may not be ours.
func (rt *runtime) deleteOptions() port.DeleteOptions {
	return port.DeleteOptions{DeleteDependents: rt.Config.DeleteDependents != nil && *rt.Config.DeleteDependents}
}

// configLocationFromEnv follows Port's exporter: CONFIG_URL, or the object
// CONFIG_JSON_FILE_KEY in BUCKET_NAME.
func configLocationFromEnv() (string, error) {
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
		s3c = newS3Client(awsCfg)
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

func newS3Client(cfg aws.Config) *s3.Client { return s3.NewFromConfig(cfg) }

func newPortClient(ctx context.Context, awsCfg aws.Config, opts runtimeOptions, log *slog.Logger) (*port.Client, error) {
	id, secret, baseURL := opts.Port.ClientID, opts.Port.ClientSecret, opts.Port.BaseURL
	if id == "" {
		creds, err := credentials.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg))
		if err != nil {
			return nil, err
		}
		id, secret = creds.ClientID, creds.ClientSecret
		log.Info("Port credentials loaded", "from", creds.Source)
	}
	if baseURL == "" {
		baseURL = os.Getenv("PORT_API_URL")
	}
	return port.New(port.Config{
		BaseURL:           baseURL,
		ClientID:          id,
		ClientSecret:      secret,
		RequestsPerSecond: opts.Sync.PortRequestsPerSec,
		Logger:            log,
		Observe:           opts.PortObserve,
	})
}

// newLogger builds the process logger: text on a terminal, JSON otherwise
// (CloudWatch, Kubernetes), at the level of --log-level.
func newLogger(cmd *cobra.Command, w io.Writer) *slog.Logger {
	levelName, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" || (format == "auto" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}
