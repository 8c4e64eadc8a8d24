package main

import (
	"fmt"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

func init() { registerCommand(newSyncCommand) }

func newSyncCommand() *cobra.Command {
	var (
		configLocation string
		output         string
		summaryFormat  string
		dryRun, quiet  bool
		syncFlags      *cli.SyncFlags
	)
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync every configured kind and region from AWS Cloud Control into Port, once",
		Long: `Sync lists every configured kind in every configured region through AWS Cloud Control,
maps the resources with the config's jq mappings, upserts the entities into Port and deletes
the stale entities this exporter owns, within the deletion guards (see README "Stale deletion").

Before any AWS call it checks that every blueprint the config maps to by name exists in Port
with every mapped property and relation, and stops with one line per problem (blueprints apply
creates them).

While it runs, stderr shows each shard: on a terminal, bars redrawn in place (logs print above
them, at warn unless --log-level says otherwise); elsewhere, one line per shard as its listing
ends. NO_COLOR turns colors off. At the end,
stdout gets the summary: per shard (kind, region) and in total, resources listed and skipped by
the selector, entities new, changed and unchanged against what Port held (or upserted, when Port
is not read), deleted, kept by a guard, failed, and the shard's own time. Errors are printed
once, on stderr, when they happen. --summary json writes the summary as JSON instead (schema in
docs/sync-output.md); --quiet prints neither progress nor table, and only warnings and errors.

--dry-run writes nothing and prints the plan against Port: "+ entity" to create, "~ entity:
fields" to change, "= N unchanged", "- entity" to delete, "! entity kept (reason)".
--out-file FILE.jsonl writes the entities to a file instead of Port; it needs no Port credentials.
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if summaryFormat != "text" && summaryFormat != "json" {
				return fmt.Errorf("--summary %q: want text or json", summaryFormat)
			}
			settings, err := syncFlags.Settings()
			if err != nil {
				return usageError(err)
			}
			settings.DryRun = dryRun
			stderr := cmd.ErrOrStderr()
			// --quiet, and the live display (whose lines say what the info
			// logs would), log warnings and errors only, unless asked.
			if (quiet || cli.IsTerminal(stderr)) && !cmd.Flags().Changed("log-level") && os.Getenv("LOG_LEVEL") == "" {
				_ = cmd.Flags().Set("log-level", "warn") // a valid level
			}
			logs := cli.NewSwitchWriter(stderr)
			logger := cli.NewLogger(cmd, logs)
			opts := exporter.Options{ConfigLocation: configLocation, Sync: settings, Logger: logger, NeedPort: output == "", OneShot: true}
			if dryRun && output == "" && !portCredentialsConfigured() {
				logger.Warn("dry run without Port credentials: owned entities cannot be listed, so the plan shows no deletions")
				opts.NeedPort = false
			}
			var file *target.JSONLines
			var closeFile func() error
			if output != "" {
				// Created only once everything else is built: a refused
				// command must not truncate the file.
				opts.Target = func() (controller.Target, error) {
					f, err := os.Create(output)
					if err != nil {
						return nil, fmt.Errorf("create output file: %w", err)
					}
					closeFile = f.Close
					file = target.NewJSONLines(f)
					return file, nil
				}
			}
			b, err := build(ctx, opts)
			if closeFile != nil {
				defer closeFile()
			}
			if err != nil {
				return err
			}
			if err := checkBlueprints(ctx, b); err != nil {
				return err
			}
			ctl := b.Controller
			var cmp *target.Comparing
			if b.Port != nil {
				// The ownership search returns the entities' bodies: new,
				// changed and unchanged at no extra Port request.
				cmp = target.NewComparing(ctl.Target(), registry.Port{Client: b.Port}, dryRun)
				ctl = ctl.WithTarget(cmp)
			}
			var progress *cli.Progress
			if !quiet {
				shards, _ := ctl.Shards() // an error here is Run's to report
				progress = cli.NewProgress(stderr, cli.ProgressOptions{Shards: len(shards), Live: cli.IsTerminal(stderr),
					Color: cli.ColorAllowed(stderr), Compared: cmp, DryRun: dryRun})
				ctl.Progress = progress.Observe
				logs.Set(progress.Writer())
			}
			report, runErr := ctl.Run(ctx)
			if progress != nil {
				progress.Wait()
				logs.Set(stderr)
			}
			b.LogPace(b.Logger) // the pace each region (and service) and Port's budget allowed
			if runErr != nil && len(report.Shards) == 0 {
				return runErr // nothing ran: an empty summary would only hide the error
			}
			if file != nil {
				if err := file.Flush(); err != nil {
					return fmt.Errorf("write %s: %w", output, err)
				}
			}
			out := cmd.OutOrStdout()
			summary := cli.NewSummary(report, cmp, dryRun)
			switch {
			case summaryFormat == "json":
				if err := summary.WriteJSON(out); err != nil {
					return fmt.Errorf("write the summary: %w", err)
				}
			case !quiet:
				if dryRun {
					cli.PrintDiff(out, report, cmp)
				}
				summary.WriteTable(out, cli.ColorAllowed(out))
				portPace := math.NaN()
				if b.Port != nil {
					portPace = b.Port.Pace()
				}
				cli.PrintPace(out, b.Source.Rates(), portPace)
			}
			if runErr != nil {
				return runErr
			}
			if !report.OK() {
				return &exitError{code: 1, err: controller.ErrFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configLocation, "config", "", configFlagUsage)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan against Port and write nothing")
	// --output FILE was this flag's name before -o/--output meant a format everywhere.
	outFileFlag(cmd, &output, "write entities as JSON Lines to this file instead of Port (no Port credentials needed)", "output")
	cmd.Flags().StringVar(&summaryFormat, "summary", "text", "the summary on stdout: text (a table) or json (docs/sync-output.md)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress and no summary table; logs at warn unless --log-level says otherwise")
	// A dry run writes nothing, so it must not create (and truncate) the output file either.
	cmd.MarkFlagsMutuallyExclusive("dry-run", "out-file")
	cmd.MarkFlagsMutuallyExclusive("dry-run", "output")
	syncFlags = cli.BindSyncFlags(cmd.Flags())
	cli.AddLogFlags(cmd.Flags())
	document(cmd, `
		port-aws-exporter sync --config config.json --dry-run      # the plan, nothing written
		port-aws-exporter sync --config s3://my-bucket/config.json
		port-aws-exporter sync --config config.json --out-file entities.jsonl   # no Port credentials needed
		port-aws-exporter sync --config s3://my-bucket/config.json --summary json > summary.json
		port-aws-exporter sync --config config.json --quiet          # cron: only warnings and errors
		SYNC_POLICY=upsert-only port-aws-exporter sync --config config.json --concurrency 8`,
		concat(envConfig, envAWS, envPort, []string{"NO_COLOR", "TERM"}),
		exitStatus{exitOK, "every shard synced"},
		exitStatus{exitFailed, "a shard failed (the summary names it; the others synced), or the run could not start (config, AWS or Port refused, or a mapped blueprint, property or relation is missing in Port)"})
	return cmd
}
