package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/blueprints"
	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/lease"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/service"
)

func init() {
	registerCommand(newLambdaCommand)
	registerCommand(newServeCommand)
	registerCommand(newHandleCommand)
}

func newLambdaCommand() *cobra.Command {
	var (
		syncFlags  *cli.SyncFlags
		eventFlags *cli.EventFlags
	)
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "Run as the AWS Lambda function (the default when AWS_LAMBDA_RUNTIME_API is set)",
		Long: `Runs the binary as a provided.al2023 Lambda bootstrap. One function handles:
  - SQS events from the events queue: event messages and shard messages; the answer's
    batchItemFailures name the messages to redeliver; permanent failures go to the
    dead-letter queue (the queue's RedrivePolicy, or DEAD_LETTER_QUEUE_URL) with their reason;
  - scheduled events ({} or detail-type "Scheduled Event"): the full sync, fanned out as one
    shard message per (account, region, kind) onto EVENTS_QUEUE_URL.
Config from CONFIG_URL, or BUCKET_NAME + CONFIG_JSON_FILE_KEY; Port credentials from
PORT_CLIENT_ID + PORT_CLIENT_SECRET or PORT_CREDS_SECRET_ARN.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Outside Lambda, aws-lambda-go would log.Fatal after the config
			// and credentials were loaded; say what is wrong before any of it.
			if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" && os.Getenv("_LAMBDA_SERVER_PORT") == "" {
				return errors.New("AWS_LAMBDA_RUNTIME_API is not set: the lambda command runs inside AWS Lambda " +
					"(or the runtime interface emulator); use serve or sync elsewhere")
			}
			settings, evs, err := builtSettings(syncFlags, eventFlags)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := cli.NewLogger(cmd, cmd.ErrOrStderr())
			// Verifications go back to the events queue; its client exists
			// once the AWS config is loaded.
			verifier := &queue.Verifier{QueueURL: os.Getenv(lambdaruntime.EnvQueueURL)}
			if verifier.QueueURL != "" {
				evs.Verifier = verifier
			} else if evs.VerifyDelay > 0 {
				logger.Warn("no verifications of writes: set " + lambdaruntime.EnvQueueURL + " so that concurrent invocations converge")
			}
			// A shard too big for one invocation continues in the next
			// (internal/continuation): its runs are kept in the store that
			// CONTINUATION_STORE names; the clients exist once the AWS
			// config is loaded, the shard key once Port's secret is.
			var (
				contStore *continuation.S3
				contSQS   *sqs.Client
				contKey   *events.ShardKey
			)
			if loc := os.Getenv(lambdaruntime.EnvContinuationStore); loc != "" && verifier.QueueURL != "" {
				bucket, prefix, err := continuation.ParseS3URL(loc)
				if err != nil {
					return usageError(err)
				}
				contStore = &continuation.S3{Bucket: bucket, Prefix: prefix}
				evs.Continuations = &dispatch.Continuations{Store: contStore, Send: func(ctx context.Context, req events.ShardRequest) error {
					return queue.SendShardMessages(ctx, contSQS, verifier.QueueURL, contKey, []events.ShardRequest{req})
				}}
			} else {
				logger.Warn("no continuations: a shard must finish within one invocation; set " + lambdaruntime.EnvContinuationStore +
					" (s3://bucket/prefix) and " + lambdaruntime.EnvQueueURL + " so that big shards continue in the next")
			}
			// The metrics of serve's /metrics, written as EMF lines per invocation.
			reg := prometheus.NewRegistry()
			m := metrics.New(reg)
			b, err := build(ctx, exporter.Options{Sync: settings, Events: &evs, Logger: logger, NeedPort: true, Metrics: m})
			if err != nil {
				return err
			}
			if contStore != nil {
				contStore.Client = s3.NewFromConfig(b.AWS, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, m.AWSClientOption()) })
				contSQS, contKey = sqs.NewFromConfig(b.AWS), b.ShardKey
			}
			// Once per cold start (one read per mapped blueprint): a Lambda
			// cannot stop, so what Port's blueprints lack is logged, and the
			// writes that need it fail on their own.
			if err := checkBlueprints(ctx, b); err != nil {
				logger.Error("the config's blueprints in Port", "error", err)
			}
			boundMetricLabels(m, b)
			client := sqs.NewFromConfig(b.AWS)
			verifier.Client = client
			h := lambdaruntime.NewFromEnvironment(&lambdaruntime.Handler{
				Metrics:  m,
				EMF:      &metrics.EMF{Gatherer: reg},
				Batch:    b.Events,
				Shards:   shardLister(b),
				ShardKey: b.ShardKey,
				SQS:      client,
				Logger:   logger,
			})
			lambdaruntime.Start(h)
			return nil
		},
	}
	// No --concurrency: the scheduled full sync fans out as one message per
	// shard, so shards run as concurrently as the function's invocations.
	syncFlags = cli.BindShardFlags(cmd.Flags())
	eventFlags = cli.BindEventFlags(cmd.Flags())
	cli.AddLogFlags(cmd.Flags())
	document(cmd, `
		port-aws-exporter          # as the provided.al2023 bootstrap: AWS_LAMBDA_RUNTIME_API selects lambda
		AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 CONFIG_URL=config.json port-aws-exporter lambda   # under the runtime interface emulator`,
		concat([]string{"AWS_LAMBDA_RUNTIME_API", lambdaruntime.EnvQueueURL, lambdaruntime.EnvDeadLetterQueueURL, lambdaruntime.EnvContinuationStore}, envConfig, envAWS, envPort),
		exitStatus{exitOK, "not reached while Lambda runs the function"},
		exitStatus{exitFailed, "the function could not start (config, AWS or Port refused, or AWS_LAMBDA_RUNTIME_API unset); Lambda reports an init error"})
	return cmd
}

// syncLoggingRates is the full sync of serve, logging after each run the
// Cloud Control pace each region settled at.
type syncLoggingRates struct{ b *exporter.Built }

func (s syncLoggingRates) Run(ctx context.Context) (controller.Report, error) {
	r, err := s.b.Controller.Run(ctx)
	s.b.LogPace(s.b.Logger)
	return r, err
}

// boundMetricLabels limits the kind and region labels to what the config
// syncs (and the exporter's own region, where its queue is): a message
// naming anything else is counted under "other", so a hostile sender cannot
// create series.
func boundMetricLabels(m *metrics.Metrics, b *exporter.Built) {
	m.SetKinds(b.Mapper.Kinds()...)
	regions := []string{b.AWS.Region}
	if shards, err := b.Controller.Shards(); err == nil {
		for _, sh := range shards {
			regions = append(regions, sh.Region)
		}
	}
	m.SetRegions(regions...)
}

// builtSettings are the sync and event settings of a command, validated.
func builtSettings(s *cli.SyncFlags, e *cli.EventFlags) (exporter.SyncSettings, exporter.EventSettings, error) {
	settings, err := s.Settings()
	if err != nil {
		return settings, exporter.EventSettings{}, usageError(err)
	}
	evs, err := e.Settings()
	return settings, evs, usageError(err)
}

func newServeCommand() *cobra.Command {
	var (
		configLocation, queueURL, deadLetterURL, listen string
		syncLease, checkpointStore                      string
		syncInterval, gracePeriod, visibility           time.Duration
		pollers                                         int
		syncFlags                                       *cli.SyncFlags
		eventFlags                                      *cli.EventFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run as a service: consume the events queue, sync on an interval, serve /healthz and /metrics",
		Long: `Serve long-polls the events queue (batches of 10, 20 s waits) and reconciles each message's
resource; it deletes only what succeeded, keeps slow messages invisible while they are worked on,
and moves permanent failures to the dead-letter queue with their reason. It runs the full sync at
start and every --sync-interval (0 disables it). On SIGTERM it stops receiving, lets in-flight
messages finish within --grace-period and releases the rest for redelivery.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queueURL == "" {
				return usageError(errors.New("--queue-url (or EVENTS_QUEUE_URL) is required"))
			}
			if syncInterval < 0 || gracePeriod < 0 {
				return usageError(fmt.Errorf("--sync-interval %s and --grace-period %s: durations cannot be negative (--sync-interval 0 disables the full sync)", syncInterval, gracePeriod))
			}
			if visibility < time.Second || visibility > 12*time.Hour {
				return usageError(fmt.Errorf("--event-visibility-timeout %s: SQS takes 1s to 12h", visibility))
			}
			if pollers < 1 {
				return usageError(fmt.Errorf("--event-pollers %d: at least one receive loop is needed", pollers))
			}
			settings, evs, err := builtSettings(syncFlags, eventFlags)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := cli.NewLogger(cmd, cmd.ErrOrStderr())
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			m := metrics.New(reg)
			// Verifications go back to the events queue; its client exists
			// once the AWS config is loaded.
			verifier := &queue.Verifier{QueueURL: queueURL}
			evs.Verifier = verifier
			b, err := build(ctx, exporter.Options{
				ConfigLocation: configLocation, Sync: settings, Events: &evs, Logger: logger, NeedPort: true, Metrics: m,
			})
			if err != nil {
				return err
			}
			// Missing blueprints stop serve at start; Port not answering
			// does not (a service outlives a Port outage).
			var missing *blueprints.CheckError
			if err := checkBlueprints(ctx, b); errors.As(err, &missing) {
				return err
			} else if err != nil {
				logger.Warn("could not check the config's blueprints in Port; starting anyway", "error", err)
			}
			boundMetricLabels(m, b)
			client := sqs.NewFromConfig(b.AWS, func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, m.AWSClientOption()) })
			verifier.Client = client
			consumer := &queue.Consumer{
				Client: client, QueueURL: queueURL, Handler: b.Events,
				GracePeriod: gracePeriod, Metrics: m, Logger: logger, Pollers: pollers, VisibilityTimeout: visibility,
			}
			if deadLetterURL != "" {
				consumer.DeadLetter = &queue.DeadLetterQueue{Client: client, URL: deadLetterURL, SourceQueueURL: queueURL}
			}
			svc := &service.Service{
				Consumer: consumer, Sync: syncLoggingRates{b}, SyncInterval: syncInterval,
				Listen: listen, Registry: reg, Logger: logger, QueueURL: queueURL,
			}
			if checkpointStore != "" && !settings.DryRun {
				// A restarted service (or the replica that takes the lease
				// over) resumes the full sync's big shards from their last
				// checkpoint instead of listing them from the first page.
				var store continuation.Store = &continuation.Dir{Root: checkpointStore}
				if strings.HasPrefix(checkpointStore, "s3://") {
					bucket, prefix, err := continuation.ParseS3URL(checkpointStore)
					if err != nil {
						return usageError(err)
					}
					store = &continuation.S3{Client: s3.NewFromConfig(b.AWS, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, m.AWSClientOption()) }),
						Bucket: bucket, Prefix: prefix}
				}
				b.Controller.SetCheckpoints(&continuation.Checkpoints{Store: store}, 0, 0)
			}
			if syncLease != "" {
				s3c := s3.NewFromConfig(b.AWS, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, m.AWSClientOption()) })
				l, err := lease.New(s3c, syncLease, lease.Options{Logger: logger, OnHeld: m.SyncLeaseHeld})
				if err != nil {
					return err
				}
				svc.Lease = l
			}
			return svc.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configLocation, "config", "", configFlagUsage)
	f.StringVar(&queueURL, "queue-url", "", "events queue URL")
	cli.BindEnv(f, "queue-url", lambdaruntime.EnvQueueURL)
	f.StringVar(&deadLetterURL, "dead-letter-queue-url", "",
		"dead-letter queue URL; default: the events queue's RedrivePolicy")
	cli.BindEnv(f, "dead-letter-queue-url", lambdaruntime.EnvDeadLetterQueueURL)
	f.DurationVar(&syncInterval, "sync-interval", time.Hour, "full sync interval; 0 disables the full sync")
	f.StringVar(&syncLease, "sync-lease", "",
		"s3://bucket/key of the lease that lets one replica of several run the full sync; empty: this replica always syncs")
	cli.BindEnv(f, "sync-lease", "SYNC_LEASE")
	f.StringVar(&checkpointStore, "checkpoint-store", "",
		"a directory or s3://bucket/prefix where the full sync checkpoints each shard every minute, so that a restarted service resumes big shards; empty: none (with --sync-lease, use s3:// so that the next holder resumes)")
	cli.BindEnv(f, "checkpoint-store", "CHECKPOINT_STORE")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address of /healthz and /metrics")
	// 25 s: inside Kubernetes' default 30 s termination grace.
	f.DurationVar(&gracePeriod, "grace-period", 25*time.Second, "on SIGTERM, how long in-flight messages may finish")
	f.DurationVar(&visibility, "event-visibility-timeout", time.Minute,
		"how long a received message stays hidden; renewed while it is worked on, so it is how soon the messages of a crashed service come back")
	cli.BindEnv(f, "event-visibility-timeout", "EVENT_VISIBILITY_TIMEOUT")
	f.IntVar(&pollers, "event-pollers", 4, "receive loops on the queue, each holding up to 10 messages")
	cli.BindEnv(f, "event-pollers", "EVENT_POLLERS")
	syncFlags = cli.BindSyncFlags(f)
	eventFlags = cli.BindEventFlags(f)
	cli.AddLogFlags(f)
	document(cmd, `
		port-aws-exporter serve --config config.json --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/port-aws-exporter-events
		port-aws-exporter serve --config s3://my-bucket/config.json --queue-url "$QUEUE_URL" --sync-interval 6h --listen :8080
		port-aws-exporter serve --config config.json --queue-url "$QUEUE_URL" --sync-lease s3://my-bucket/sync-lease.json   # several replicas
		port-aws-exporter serve --config config.json --queue-url "$QUEUE_URL" --checkpoint-store s3://my-bucket/port-aws-exporter/checkpoints`,
		concat(envConfig, envAWS, envPort, []string{"POD_NAME"}),
		exitStatus{exitOK, "stopped by SIGTERM or SIGINT after the in-flight messages finished or were released"},
		exitStatus{exitFailed, "could not start (config, AWS or Port refused), or the queue or the listener failed"})
	return cmd
}

func newHandleCommand() *cobra.Command {
	var (
		configLocation string
		dryRun         bool
		syncFlags      *cli.SyncFlags
	)
	cmd := &cobra.Command{
		Use:   "handle [MESSAGE.json | -]",
		Short: "Handle one events-queue message body and print what was decided and done",
		Long: `Handle reads one message body (a file, or standard input for - or no argument), evaluates
it as the events queue would (resource_type, region, action, identifier), reconciles the resource
against Cloud Control and Port, and prints the decision, the entities upserted or deleted, and the
outcome. --dry-run reads AWS (and Port, to check ownership, when credentials are set) and writes nothing.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			body, err := readMessage(cmd.InOrStdin(), args)
			if err != nil {
				return err
			}
			settings, err := syncFlags.Settings()
			if err != nil {
				return usageError(err)
			}
			settings.DryRun = dryRun
			logger := cli.NewLogger(cmd, cmd.ErrOrStderr())
			b, err := build(ctx, exporter.Options{
				ConfigLocation: configLocation, Sync: settings, Logger: logger, OneShot: true,
				NeedPort: !dryRun || portCredentialsConfigured(),
				Events:   &exporter.EventSettings{Concurrency: 1, Timeout: cli.EventDefaults().Timeout}, // one message, no verification
			})
			if err != nil {
				return err
			}
			o := b.Events.HandleBatch(ctx, []dispatch.Item{{ID: "cli", Body: body}})[0]
			printOutcome(cmd.OutOrStdout(), o)
			switch o.Status {
			case dispatch.StatusRetry:
				return &exitError{code: exitFailed, err: fmt.Errorf("transient failure: %w", o.Err)}
			case dispatch.StatusDeadLetter:
				return &exitError{code: exitDeadLetter, err: fmt.Errorf("permanent failure: %w", o.Err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configLocation, "config", "", configFlagUsage)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "decide and print, write nothing")
	// No --concurrency: one message is one resource or one shard.
	syncFlags = cli.BindShardFlags(cmd.Flags())
	cli.AddLogFlags(cmd.Flags())
	document(cmd, `
		port-aws-exporter handle --config config.json --dry-run message.json
		aws sqs receive-message --queue-url "$QUEUE_URL" --query 'Messages[0].Body' --output text | port-aws-exporter handle --config config.json --dry-run -
		port-aws-exporter handle --config config.json message.json   # writes to Port`,
		concat(envConfig, envAWS, envPort),
		exitStatus{exitOK, "handled (the queue would delete the message)"},
		exitStatus{exitFailed, "transient failure: the queue would retry the message; or the command could not start (config, AWS or Port refused, message unreadable)"},
		exitStatus{exitDeadLetter, "permanent failure: the queue would move the message to the dead-letter queue"})
	return cmd
}

// maxMessageBytes is SQS's largest message body: anything longer never came from the queue.
const maxMessageBytes = 1 << 20

func readMessage(stdin io.Reader, args []string) ([]byte, error) {
	var r io.Reader = stdin
	name := "standard input"
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, fmt.Errorf("open message: %w", err)
		}
		defer f.Close()
		r, name = f, args[0]
	}
	body, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read message from %s: %w", name, err)
	}
	if len(body) > maxMessageBytes {
		return nil, fmt.Errorf("message in %s is larger than SQS's 1 MiB limit", name)
	}
	return body, nil
}

// printOutcome writes what handle decided and did.
func printOutcome(w io.Writer, o dispatch.Outcome) {
	r := o.Report
	if r != nil && r.Decision != nil {
		d := r.Decision
		fmt.Fprintf(w, "resource type: %s\nregion:        %s\naction:        %s\nidentifier:    %s\n", d.ResourceType, d.Region, d.Action, d.Identifier)
		if r.LookedUp {
			fmt.Fprintf(w, "in AWS:        %t\n", r.Found)
		}
	}
	if r != nil && r.Shard != nil {
		fmt.Fprintf(w, "shard:         %s\n", r.Shard)
		if s := r.ShardSummary; s != nil {
			fmt.Fprintf(w, "listed %d, mapped %d, upserted %d, deleted %d, failed %d\n", s.Listed, s.Mapped, s.Upserted, s.Deleted, s.Failed)
		}
	}
	if r != nil {
		verb := ""
		if r.DryRun {
			verb = " (dry run: not written)"
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		for _, e := range r.Upserts {
			b, _ := json.MarshalIndent(e, "", "  ")
			fmt.Fprintf(w, "upsert %s/%s%s:\n%s\n", e.Blueprint, e.Identifier, verb, b)
		}
		for _, ref := range r.Deletes {
			fmt.Fprintf(w, "delete %s%s\n", ref, verb)
		}
		for _, f := range r.Failed {
			fmt.Fprintf(w, "failed: %s\n", f)
		}
	}
	switch o.Status {
	case dispatch.StatusOK:
		fmt.Fprintln(w, "outcome: ok")
	case dispatch.StatusRetry:
		fmt.Fprintf(w, "outcome: transient failure, the queue would retry: %v\n", o.Err)
	case dispatch.StatusDeadLetter:
		fmt.Fprintf(w, "outcome: permanent failure (%s), the queue would dead-letter it: %v\n", o.Reason, o.Err)
	}
}

// shardLister lists a full sync's shards for the scheduled fan-out, which is
// a full sync's start: the accounts of the config's aws block are resolved again.
func shardLister(b *exporter.Built) lambdaruntime.ShardListerFunc {
	return func(ctx context.Context) ([]events.ShardRequest, error) {
		if err := b.Controller.RefreshAccounts(ctx); err != nil {
			return nil, err
		}
		return dispatch.ShardRequests(b.Controller)
	}
}
