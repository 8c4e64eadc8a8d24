package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/credentials"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// serviceAuthWait bounds how long serve and Lambda wait for Port's first
// token at start; the fetch goes on in the background.
const serviceAuthWait = 5 * time.Second

// configFlagUsage is the help of every command's --config flag.
const configFlagUsage = "config.json or YAML: a path or s3://bucket/key (default: CONFIG_URL, or BUCKET_NAME + CONFIG_JSON_FILE_KEY)"

// runtimeOptions say how to build the exporter's parts for one command.
type runtimeOptions struct {
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

// bindSyncFlags adds the sync knobs to a command. Each flag also reads an
// environment variable (see bindEnv), so that Lambda, which has no flags, can
// set them too.
func bindSyncFlags(cmd *cobra.Command, s *syncSettings) {
	f := cmd.Flags()
	f.IntVar(&s.Concurrency, "concurrency", 4, "shards (account, region, kind) synced at once [SYNC_CONCURRENCY]")
	bindEnv(f, "concurrency", "SYNC_CONCURRENCY")
	f.Float64Var(&s.MaxDeleteShare, "max-delete-share", plan.DefaultMaxDeleteShare,
		"largest share of a shard's owned entities one sync may delete; above it, the shard's deletions are withheld [MAX_DELETE_SHARE]")
	bindEnv(f, "max-delete-share", "MAX_DELETE_SHARE")
	f.StringVar(&s.Policy, "policy", "sync", "sync (upsert and delete stale) or upsert-only [SYNC_POLICY]")
	bindEnv(f, "policy", "SYNC_POLICY")
	f.Float64Var(&s.AWSRequestsPerSec, "aws-requests-per-second", source.DefaultRequestsPerSecond,
		"Cloud Control calls per second per region [AWS_REQUESTS_PER_SECOND]")
	bindEnv(f, "aws-requests-per-second", "AWS_REQUESTS_PER_SECOND")
	f.Float64Var(&s.PortRequestsPerSec, "port-requests-per-second", port.DefaultRequestsPerSecond,
		"Port API requests per second; the default is Port's published 35,000 per 5 minutes [PORT_REQUESTS_PER_SECOND]")
	f.Lookup("port-requests-per-second").DefValue = "116.67" // not 116.66666666666667 in --help
	bindEnv(f, "port-requests-per-second", "PORT_REQUESTS_PER_SECOND")
}

// validate rejects settings that would silently do something else than asked:
// the Cloud Control reader and the Port client treat a zero rate as "default"
// and a negative one as "unpaced", and the controller runs 0 shards at once as 1.
func (s syncSettings) validate() error {
	if _, ok := plan.Policies[s.Policy]; !ok {
		return fmt.Errorf("unknown policy %q (known: %s)", s.Policy, strings.Join(plan.PolicyNames(), ", "))
	}
	if s.MaxDeleteShare < 0 || s.MaxDeleteShare > 1 {
		return fmt.Errorf("max delete share %v is not between 0 and 1", s.MaxDeleteShare)
	}
	if s.Concurrency < 1 {
		return fmt.Errorf("concurrency %d: want at least 1 shard at once", s.Concurrency)
	}
	if !(s.AWSRequestsPerSec > 0) {
		return fmt.Errorf("aws requests per second %v: want a number above 0", s.AWSRequestsPerSec)
	}
	if !(s.PortRequestsPerSec > 0) {
		return fmt.Errorf("port requests per second %v: want a number above 0", s.PortRequestsPerSec)
	}
	return nil
}

// envAnnotation marks a flag whose default comes from an environment variable.
const envAnnotation = "port-aws-exporter/env"

// bindEnv makes the environment variable env the default of flag name when
// the flag is not given; applyEnvironment reads it before the command runs,
// so that a malformed value is an error naming the variable instead of being
// ignored.
func bindEnv(f *pflag.FlagSet, name, env string) {
	if err := f.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(fmt.Sprintf("bind %s to flag --%s: %v", env, name, err)) // a programming error: no such flag
	}
}

// applyEnvironment sets every flag of cmd that was not given on the command
// line from its environment variable, parsed as the flag parses its value.
func applyEnvironment(cmd *cobra.Command) error {
	var errs []error
	flags := cmd.Flags()
	flags.VisitAll(func(f *pflag.Flag) {
		names := f.Annotations[envAnnotation]
		if len(names) == 0 || f.Changed {
			return
		}
		value := os.Getenv(names[0])
		if value == "" {
			return
		}
		if err := flags.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s=%q (--%s): %w", names[0], value, f.Name, err))
		}
		// Set marks the flag as given; the value came from the environment.
		f.Changed = false
	})
	return errors.Join(errs...)
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
	if err := opts.Sync.validate(); err != nil {
		return nil, err
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
	policy := plan.Policies[opts.Sync.Policy]
	// Without a region the SDK cannot even reach STS, and its own message
	// ("endpoint rule error, Invalid Configuration: Missing Region") does not
	// say which setting is missing.
	if awsCfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or the region of the AWS profile in use); " +
			"it is also the region of config entries that name none in selector.aws.regions")
	}
	accountID := opts.AccountID
	if accountID == "" {
		if accountID, err = source.AccountID(ctx, awsCfg); err != nil {
			return nil, err // names sts:GetCallerIdentity
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
	from := "the command's settings"
	if id == "" {
		creds, err := credentials.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg))
		if err != nil {
			return nil, err
		}
		id, secret, from = creds.ClientID, creds.ClientSecret, creds.Source
		log.Info("Port credentials loaded", "from", creds.Source)
	}
	if baseURL == "" {
		baseURL = os.Getenv("PORT_API_URL")
	}
	client, err := port.New(port.Config{
		BaseURL:           baseURL,
		ClientID:          id,
		ClientSecret:      secret,
		RequestsPerSecond: opts.Sync.PortRequestsPerSec,
		Logger:            log,
		Observe:           opts.PortObserve,
	})
	if err != nil {
		return nil, err
	}
	// Credentials Port rejects would fail every write of a sync that first
	// reads the whole account: stop now. A Port outage stops a one-shot
	// command too; a service only warns (its writes retry, serve keeps
	// consuming).
	authCtx := ctx
	if !opts.OneShot {
		// A service must not wait out the whole retry budget of a Port
		// outage before it serves /healthz and consumes events.
		var cancel context.CancelFunc
		authCtx, cancel = context.WithTimeout(ctx, serviceAuthWait)
		defer cancel()
	}
	if err := client.Authenticate(authCtx); err != nil {
		var apiErr *port.APIError
		switch {
		case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
			return nil, fmt.Errorf("credentials from %s rejected by Port: %w", from, err)
		case !port.IsTransient(err):
			return nil, fmt.Errorf("Port at %s refused the token request (check PORT_API_URL): %w", cmp.Or(baseURL, port.DefaultBaseURL), err)
		case opts.OneShot:
			return nil, fmt.Errorf("no answer from Port at %s: %w", cmp.Or(baseURL, port.DefaultBaseURL), err)
		}
		log.Warn("Port unavailable at start; writes will retry", "error", err)
	}
	return client, nil
}

// Log levels and formats accepted by --log-level and --log-format.
var (
	logLevels  = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	logFormats = []string{"auto", "text", "json"}
)

// checkLogFlags rejects a --log-level or --log-format the logger would not
// understand, instead of falling back silently.
func checkLogFlags(cmd *cobra.Command) error {
	level, _ := cmd.Flags().GetString("log-level")
	if _, ok := logLevels[strings.ToLower(level)]; !ok {
		return fmt.Errorf("--log-level (or LOG_LEVEL) %q: want debug, info, warn or error", level)
	}
	format, _ := cmd.Flags().GetString("log-format")
	if !slices.Contains(logFormats, strings.ToLower(format)) {
		return fmt.Errorf("--log-format (or LOG_FORMAT) %q: want %s", format, strings.Join(logFormats, ", "))
	}
	return nil
}

// newLogger builds the process logger: text on a terminal, JSON otherwise
// (CloudWatch, Kubernetes), at the level of --log-level.
func newLogger(cmd *cobra.Command, w io.Writer) *slog.Logger {
	levelName, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	level, ok := logLevels[strings.ToLower(levelName)]
	if !ok {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format = strings.ToLower(format)
	if format == "text" || (format == "auto" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	// JSON would write durations as integer nanoseconds; "1.5s" reads better
	// in CloudWatch and is what the text handler prints.
	opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
