package main

import (
	"context"
	"fmt"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/config"
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
			if location == "" {
				var err error
				if location, err = configLocationFromEnv(); err != nil {
					return err
				}
			}
			cfg, err := loadForValidation(cmd.Context(), location)
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
	cmd.AddCommand(validate)
	return cmd
}

// loadForValidation reads a config; AWS credentials are needed only for s3:// locations.
func loadForValidation(ctx context.Context, location string) (*config.Config, error) {
	var s3c config.S3Getter
	if strings.HasPrefix(location, "s3://") {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		s3c = newS3Client(awsCfg)
	}
	return config.Load(ctx, location, s3c)
}
