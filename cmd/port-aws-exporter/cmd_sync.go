package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

func init() { registerCommand(newSyncCommand) }

func newSyncCommand() *cobra.Command {
	var (
		configLocation string
		output         string
		settings       syncSettings
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
			logger := newLogger(cmd, cmd.ErrOrStderr())
			opts := runtimeOptions{ConfigLocation: configLocation, Sync: settings, Logger: logger, NeedPort: output == "", OneShot: true}
			if settings.DryRun && output == "" && !portCredentialsConfigured() {
				logger.Warn("dry run without Port credentials: owned entities cannot be listed, so the plan shows no deletions")
				opts.NeedPort = false
			}
			rt, err := buildRuntime(ctx, opts)
			if err != nil {
				return err
			}
			var file *target.JSONLines
			switch {
			case output != "":
				f, err := os.Create(output)
				if err != nil {
					return fmt.Errorf("create output file: %w", err)
				}
				defer f.Close()
				file = target.NewJSONLines(f)
				rt.Syncer.Target = file
			case rt.Syncer.Target == nil:
				rt.Syncer.Target = target.Nothing{}
			}
			watchProgress(rt.Syncer, cmd.ErrOrStderr())
			report, runErr := rt.Syncer.Run(ctx)
			if runErr != nil && len(report.Shards) == 0 {
				return runErr // nothing ran: an empty summary would only hide the error
			}
			if file != nil {
				if err := file.Flush(); err != nil {
					return fmt.Errorf("write %s: %w", output, err)
				}
			}
			out := cmd.OutOrStdout()
			if settings.DryRun {
				printPlan(out, report)
				fmt.Fprintln(out)
			}
			printSummary(out, report, settings.DryRun)
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
	cmd.Flags().BoolVar(&settings.DryRun, "dry-run", false, "print the plan and write nothing")
	cmd.Flags().StringVar(&output, "output", "", "write entities as JSON Lines to this file instead of Port")
	// A dry run writes nothing, so it must not create (and truncate) the output file either.
	cmd.MarkFlagsMutuallyExclusive("dry-run", "output")
	bindSyncFlags(cmd, &settings)
	return cmd
}

// watchProgress prints a line when a shard starts, on a terminal only; the
// controller logs each shard's outcome with its counts ("shard synced", or
// "shard failed" with its errors), on a terminal and off it.
func watchProgress(s *controller.Syncer, w io.Writer) {
	if !isTerminal(w) {
		return
	}
	var mu sync.Mutex
	s.OnShardStart = func(sh source.Shard) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  … %s %s\n", sh.Kind, sh.Region)
	}
}

func portCredentialsConfigured() bool {
	return (os.Getenv("PORT_CLIENT_ID") != "" && os.Getenv("PORT_CLIENT_SECRET") != "") || os.Getenv("PORT_CREDS_SECRET_ARN") != ""
}
