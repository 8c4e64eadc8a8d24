package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
)

func init() { registerCommand(newConfigCommand) }

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the exporter's config.json"}
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
			for _, w := range cfg.Warnings {
				fmt.Fprintf(out, "%s: warning: %s\n", cfg.Source, w)
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
