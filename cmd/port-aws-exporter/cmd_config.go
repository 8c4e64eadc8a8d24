package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
)

func init() { registerCommand(newConfigCommand) }

// configSubcommands are the config commands other files add (config convert).
var configSubcommands []func() *cobra.Command

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the exporter's config (config.json or Ocean's port-app-config.yml)"}
	for _, sub := range configSubcommands {
		cmd.AddCommand(sub())
	}
	var location string
	var strict bool
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Report every problem of a config at once, each with its JSON path",
		Long: `Report every problem of a config at once, each with its JSON path: the
document's own (types, jq expressions, region names, ...) and what AWS
publishes about its kinds (a type name that does not exist, with the nearest
names; a type Cloud Control cannot list or read; a child type without the
resource models its listing needs; a type missing from a configured region).
Warnings (unknown keys, with the key probably meant) do not fail the command
unless --strict is given. Exit 1 when there is any problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			location, err := configLocation(location)
			if err != nil {
				return err
			}
			cfg, err := exporter.ReadConfig(cmd.Context(), location)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: format: %s\n", cfg.Source, formatLine(cfg))
			problems := config.Validate(cfg)
			// What AWS publishes: kinds, readability, regions (internal/catalog).
			awsProblems, awsWarnings := config.CheckCatalog(cfg)
			problems = append(problems, awsProblems...)
			warnings := append(append([]config.Problem(nil), cfg.Warnings...), awsWarnings...)
			for _, w := range warnings {
				fmt.Fprintf(out, "%s: warning: %s\n", cfg.Source, w)
			}
			for _, n := range cfg.Notes {
				fmt.Fprintf(out, "%s: note: %s\n", cfg.Source, n)
			}
			for _, p := range problems {
				fmt.Fprintf(out, "%s: %s\n", cfg.Source, p)
			}
			if len(problems) > 0 || (strict && len(warnings) > 0) {
				msg := fmt.Sprintf("%s: %d problem(s)", cfg.Source, len(problems))
				if strict && len(warnings) > 0 {
					msg += fmt.Sprintf(", %d warning(s) (--strict)", len(warnings))
				}
				return &exitError{code: 1, err: errors.New(msg)}
			}
			kinds := map[string]bool{}
			for _, r := range cfg.Resources {
				kinds[r.Kind] = true
			}
			fmt.Fprintf(out, "%s: valid (%d resources, %d kinds)\n", cfg.Source, len(cfg.Resources), len(kinds))
			return nil
		},
	}
	validate.Flags().StringVar(&location, "config", "", configFlagUsage)
	validate.Flags().BoolVar(&strict, "strict", false, "treat warnings (unknown keys, a kind missing from a region, ...) as problems: exit 1")
	document(validate, `
		port-aws-exporter config validate --config config.json
		port-aws-exporter config validate --config s3://my-bucket/config.json
		CONFIG_URL=./port/config.yaml port-aws-exporter config validate`,
		concat(envConfig, envAWS),
		exitStatus{exitOK, "the config is valid (warnings may be printed)"},
		exitStatus{exitFailed, "the config has problems (each printed with its JSON path), or could not be read"})
	cmd.AddCommand(validate)
	return cmd
}

// formatLine names the dialect read and what in the document decided it.
func formatLine(cfg *config.Config) string {
	if cfg.DetectedBy == "" {
		return cfg.Dialect.String()
	}
	return fmt.Sprintf("%s (detected from %s)", cfg.Dialect, cfg.DetectedBy)
}
