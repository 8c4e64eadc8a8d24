package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

func init() { configSubcommands = append(configSubcommands, newConfigConvertCommand) }

// The targets of config convert.
const (
	convertToOcean    = "ocean"
	convertToExporter = "exporter"
	convertToLibrary  = "library"
)

func newConfigConvertCommand() *cobra.Command {
	var location, to, out, blueprints string
	cmd := &cobra.Command{
		Use:   "convert --config FILE --to ocean|exporter|library [--out-file FILE]",
		Short: "Write a config in the other format, or the rule library's defaults for its kinds",
		Long: `Write a config (config.json or Ocean's port-app-config.yml, either is read) as:

  ocean     a port-app-config.yml: Ocean's document (.Properties.X, .__Region),
            one entry per mapping, regions as regionPolicy.allow
  exporter  a config.json; entries that came from a port-app-config keep
            Ocean's document (selector.aws.document: ocean)
  library   the rule library's default config.json for the config's kinds
            (what init writes), with --blueprints FILE for their blueprints;
            the kinds are then the --kinds of rules generate

Both formats give the same entities from the same resources here. What the
target format cannot say is listed on standard error with its JSON path and
the command exits 1 (the output is still written); notes are differences
that keep the same entities. Read docs/migrate.md before switching a
running exporter to the library's mappings: their identifiers differ.`,
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
			if problems := config.Validate(cfg); len(problems) > 0 {
				return &exitError{code: 1, err: &config.ValidationError{Source: cfg.Source, Problems: problems}}
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "%s: read as %s\n", cfg.Source, formatLine(cfg))
			var converted *config.Converted
			var extra []namedFile
			switch to {
			case convertToOcean:
				converted, err = config.ToOcean(cfg)
			case convertToExporter:
				converted, err = config.ToExporter(cfg)
			case convertToLibrary:
				converted, extra, err = toLibrary(cfg, blueprints)
			default:
				return fmt.Errorf("--to %q: want %s, %s or %s", to, convertToOcean, convertToExporter, convertToLibrary)
			}
			if err != nil {
				return err
			}
			if err := writeOutput(cmd.OutOrStdout(), out, converted.Data); err != nil {
				return err
			}
			for _, f := range extra {
				if err := writeOutput(cmd.OutOrStdout(), f.name, f.data); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %s\n", f.name)
			}
			for _, n := range converted.Notes {
				fmt.Fprintf(stderr, "%s: note: %s\n", cfg.Source, n)
			}
			for _, p := range converted.Problems {
				fmt.Fprintf(stderr, "%s: not converted exactly: %s\n", cfg.Source, p)
			}
			if n := len(converted.Problems); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s: %d place(s) could not be converted exactly (listed above); the output was written", cfg.Source, n)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&location, "config", "", configFlagUsage)
	cmd.Flags().StringVar(&to, "to", "", "target: ocean (port-app-config.yml), exporter (config.json) or library (the rule library's defaults)")
	_ = cmd.MarkFlagRequired("to")
	outFileFlag(cmd, &out, "file to write (default: standard output)")
	cmd.Flags().StringVar(&blueprints, "blueprints", "", "with --to library: also write the kinds' Port blueprints to this file")
	document(cmd, `
		port-aws-exporter config convert --config config.json --to ocean --out-file port-app-config.yml
		port-aws-exporter config convert --config port-app-config.yml --to exporter --out-file config.json
		port-aws-exporter config convert --config config.json --to library --out-file library.json --blueprints blueprints.json`,
		envConfig,
		exitStatus{exitOK, "the config was converted exactly"},
		exitStatus{exitFailed, "the config could not be read, or something could not be converted exactly (listed on standard error with its JSON path; the output is still written)"})
	return cmd
}

// toLibrary is the rule library's bundle for the kinds the config reads.
func toLibrary(cfg *config.Config, blueprintsFile string) (*config.Converted, []namedFile, error) {
	all, err := library.All()
	if err != nil {
		return nil, nil, err
	}
	byType := map[string]library.Kind{}
	for _, k := range all {
		byType[k.Type] = k
	}
	conv := &config.Converted{}
	var selected []library.Kind
	for i, r := range cfg.Resources {
		k, ok := byType[r.Kind]
		switch {
		case !ok:
			conv.Problems = append(conv.Problems, config.Problem{Path: config.ResourcePath(i) + ".kind",
				Message: fmt.Sprintf("%s is not in the rule library (port-aws-exporter kinds list): keep this entry of your config", r.Kind)})
		case !slices.ContainsFunc(selected, func(s library.Kind) bool { return s.Type == k.Type }):
			selected = append(selected, k)
		}
	}
	if len(selected) == 0 {
		return nil, nil, errors.New("none of the config's kinds is in the rule library (port-aws-exporter kinds list)")
	}
	bundle := library.NewBundle(selected)
	if conv.Data, err = bundle.ConfigJSON(); err != nil {
		return nil, nil, err
	}
	names := make([]string, len(selected))
	for i, k := range selected {
		names[i] = k.Name
	}
	conv.Notes = append(conv.Notes,
		config.Problem{Message: "rules for these kinds: port-aws-exporter rules generate --kinds " + strings.Join(names, ",")},
		config.Problem{Message: "the library's mappings name entities by ARN for regional kinds, and its blueprints differ from yours: " +
			"entities your config wrote are not the library's (see docs/migrate.md before switching)"})
	var extra []namedFile
	if blueprintsFile != "" {
		data, err := bundle.BlueprintsJSON()
		if err != nil {
			return nil, nil, err
		}
		extra = append(extra, namedFile{name: blueprintsFile, data: data})
	}
	return conv, extra, nil
}

// writeOutput writes data to path, or to w when path is "" or "-".
func writeOutput(w io.Writer, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := w.Write(data)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
