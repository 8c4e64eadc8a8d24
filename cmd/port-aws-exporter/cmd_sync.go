package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

func init() { registerCommand(newSyncCommand) }

func newSyncCommand() *cobra.Command {
	var (
		configLocation string
		output         string
		dryRun         bool
		syncFlags      *cli.SyncFlags
	)
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync every configured kind and region from AWS Cloud Control into Port, once",
		Long: `Sync lists every configured kind in every configured region through AWS Cloud Control,
maps the resources with the config's jq mappings, upserts the entities into Port and deletes
the stale entities this exporter owns, within the deletion guards (see README "Stale deletion").

--dry-run prints the plan (upserts and deletes per blueprint) and writes nothing.
--output FILE.jsonl writes the entities to a file instead of Port; it needs no Port credentials.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			settings, err := syncFlags.Settings()
			if err != nil {
				return err
			}
			settings.DryRun = dryRun
			logger := cli.NewLogger(cmd, cmd.ErrOrStderr())
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
			if w := cmd.ErrOrStderr(); cli.IsTerminal(w) {
				opts.OnShardStart = progress(w)
			}
			b, err := build(ctx, opts)
			if closeFile != nil {
				defer closeFile()
			}
			if err != nil {
				return err
			}
			report, runErr := b.Controller.Run(ctx)
			b.LogRates() // the pace each region found
			if runErr != nil && len(report.Shards) == 0 {
				return runErr // nothing ran: an empty summary would only hide the error
			}
			if file != nil {
				if err := file.Flush(); err != nil {
					return fmt.Errorf("write %s: %w", output, err)
				}
			}
			out := cmd.OutOrStdout()
			if dryRun {
				cli.PrintPlan(out, report)
				fmt.Fprintln(out)
			}
			cli.PrintSummary(out, report, dryRun)
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
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and write nothing")
	cmd.Flags().StringVar(&output, "output", "", "write entities as JSON Lines to this file instead of Port")
	// A dry run writes nothing, so it must not create (and truncate) the output file either.
	cmd.MarkFlagsMutuallyExclusive("dry-run", "output")
	syncFlags = cli.BindSyncFlags(cmd.Flags())
	return cmd
}

// progress prints a line when a shard starts (on a terminal only); the
// controller logs each shard's outcome with its counts ("shard synced", or
// "shard failed" with its errors), on a terminal and off it.
func progress(w io.Writer) func(source.Shard) {
	var mu sync.Mutex
	return func(sh source.Shard) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  … %s %s\n", sh.Kind, sh.Region)
	}
}
