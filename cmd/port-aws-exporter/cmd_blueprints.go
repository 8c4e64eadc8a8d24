package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/blueprints"
	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/port"
)

func init() { registerCommand(newBlueprintsCommand) }

// portEnvironmentHelp names the variables every command that talks to Port reads.
const portEnvironmentHelp = `  PORT_CLIENT_ID, PORT_CLIENT_SECRET   Port credentials
  PORT_CREDS_SECRET_ARN                or a Secrets Manager secret holding them ({"id": ..., "clientSecret": ...}),
                                       read with the standard AWS settings (AWS_REGION, AWS_PROFILE, ...)
  PORT_API_URL                         Port's API (default https://api.getport.io; US: https://api.us.getport.io)`

func newBlueprintsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blueprints",
		Short: "Put the blueprints a config needs into Port",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBlueprintsApplyCommand())
	return cmd
}

func newBlueprintsApplyCommand() *cobra.Command {
	var (
		file          string
		dryRun, prune bool
	)
	cmd := &cobra.Command{
		Use:   "apply --file blueprints.json [--dry-run] [--prune]",
		Short: "Create or update the blueprints of a file in Port, relation targets first",
		Long: `Apply reads a blueprints file (what init writes: an array of Port blueprints), compares each
blueprint with Port's, prints the difference, and creates or updates them in an order Port accepts:
a relation's target before the blueprint relating to it. Blueprints that relate to each other in a
cycle are created without those relations and then updated with them.

Lines of the plan: "+ name (new)", "~ name: +added, ~changed, -removed", "= name" (unchanged).

An update only adds and changes (PATCH): a property or relation Port has and the file lacks is kept,
and the plan lists it. --prune removes them (PUT), and Port drops their values from every entity.
A relation whose target is neither in the file nor in Port stops the command before any request.

Environment:
` + portEnvironmentHelp + `

Exit codes:
  0  the blueprints are as the file says (or, with --dry-run, the plan was printed)
  1  the file is invalid, Port refused a request, or Port could not be reached; with several
     blueprints, those before the failed request were applied (the error says how many)`,
		Example: `  # see what would change, then apply
  port-aws-exporter blueprints apply --file ./port/blueprints.json --dry-run
  port-aws-exporter blueprints apply --file ./port/blueprints.json

  # also remove properties and relations the file no longer has
  port-aws-exporter blueprints apply --file ./port/blueprints.json --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--file is required: the blueprints file (init writes blueprints.json)")
			}
			desired, err := readBlueprintsFile(file)
			if err != nil {
				return err
			}
			logger := cli.NewLogger(cmd, cmd.ErrOrStderr())
			client, err := portClient(cmd.Context(), logger)
			if err != nil {
				return err
			}
			return applyBlueprints(cmd.Context(), cmd.OutOrStdout(), client, desired, blueprints.Options{Prune: prune}, dryRun)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the blueprints file: a JSON array of Port blueprints")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "also remove the properties and relations Port has and the file lacks")
	return cmd
}

func readBlueprintsFile(path string) ([]blueprints.Blueprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blueprints file: %w", err)
	}
	defer f.Close()
	return blueprints.Read(f, path)
}

// portClient is the Port client of commands that only talk to Port.
var portClient = func(ctx context.Context, log *slog.Logger) (*port.Client, error) {
	return exporter.PortClient(ctx, exporter.Options{Logger: log, Sync: cli.SyncDefaults()})
}

// applyBlueprints plans, prints the plan, and applies it unless dryRun.
func applyBlueprints(ctx context.Context, out io.Writer, client blueprints.Client, desired []blueprints.Blueprint, opts blueprints.Options, dryRun bool) error {
	plan, err := blueprints.NewPlan(ctx, client, desired, opts)
	if err != nil {
		return err
	}
	plan.Print(out)
	if dryRun || len(plan.Steps) == 0 {
		if dryRun {
			fmt.Fprintln(out, "Dry run: nothing was changed.")
		}
		return nil
	}
	if err := plan.Apply(ctx, client); err != nil {
		return err
	}
	fmt.Fprintf(out, "Applied %d request(s).\n", len(plan.Steps))
	return nil
}

// checkBlueprints is the preflight of sync and serve: before any Cloud
// Control call, every blueprint the config maps to by name must exist in
// Port with every mapped property and relation.
func checkBlueprints(ctx context.Context, b *exporter.Built) error {
	if b.Port == nil {
		return nil // writes go to a file, or nowhere
	}
	return blueprints.Check(ctx, b.Port, b.Config, b.Logger)
}

// applyInitBlueprints is init --apply: the blueprints file init wrote, applied.
func applyInitBlueprints(cmd *cobra.Command, path string) error {
	desired, err := readBlueprintsFile(path)
	if err != nil {
		return err
	}
	client, err := portClient(cmd.Context(), cli.NewLogger(cmd, cmd.ErrOrStderr()))
	if err != nil {
		return fmt.Errorf("init wrote its files; applying the blueprints: %w", err)
	}
	return applyBlueprints(cmd.Context(), cmd.OutOrStdout(), client, desired, blueprints.Options{}, false)
}
