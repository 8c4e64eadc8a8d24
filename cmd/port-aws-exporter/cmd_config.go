package main

import (
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
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Report every problem of a config at once, each with its JSON path",
		Args:  cobra.NoArgs,
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
			for _, w := range cfg.Warnings {
				fmt.Fprintf(out, "%s: warning: %s\n", cfg.Source, w)
			}
			for _, n := range cfg.Notes {
				fmt.Fprintf(out, "%s: note: %s\n", cfg.Source, n)
			}
			problems := config.Validate(cfg)
			for _, p := range problems {
				fmt.Fprintf(out, "%s: %s\n", cfg.Source, p)
			}
			if len(problems) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s: %d problem(s)", cfg.Source, len(problems))}
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
