package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/version"
)

func init() { registerCommand(newVersionCommand) }

func newVersionCommand() *cobra.Command {
	output := newOutputFormat("text", "json")
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and date of this build",
		Long: `Print the version of this binary: the release tag it was built from (or git describe,
or the version Go recorded), the commit and its date when known, and the Go toolchain and
platform. --version prints the same line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if output.String() == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "port-aws-exporter "+info.String())
			return err
		},
	}
	output.bind(cmd, "output format")
	document(cmd, `
		port-aws-exporter version
		port-aws-exporter version -o json
		port-aws-exporter --version`, envNone,
		exitStatus{exitOK, "the version was printed"})
	return cmd
}
