package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

// The kinds catalog's commands: `kinds list`, `rules generate` and `init`.
func init() {
	registerCommand(newKindsCommand)
	registerCommand(newInitCommand)
	rulesSubcommands = append(rulesSubcommands, newRulesGenerateCommand)
}

func newKindsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "kinds", Short: "The AWS resource types with a ready-made rule, mapping and blueprint"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the supported kinds: type, blueprint, events covered, identifier",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kinds, err := library.All()
			if err != nil {
				return err
			}
			switch output {
			case "text":
				return printKinds(cmd.OutOrStdout(), kinds)
			case "json":
				return printKindsJSON(cmd.OutOrStdout(), kinds)
			}
			return fmt.Errorf("--output %q: want text or json", output)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(list)
	return cmd
}

func printKinds(w io.Writer, kinds []library.Kind) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tBLUEPRINT\tIDENTIFIER\tEVENTS COVERED")
	for _, k := range kinds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Type, k.Name, k.Blueprint.Identifier,
			k.CloudControlIdentifier(), strings.Join(k.EventsCovered(), ", "))
	}
	return tw.Flush()
}

// kindSummary is one kind in `kinds list -o json`.
type kindSummary struct {
	Type             string   `json:"type"`
	Name             string   `json:"name"`
	Blueprint        string   `json:"blueprint"`
	Identifier       string   `json:"cloudControlIdentifier"`
	EntityIdentifier string   `json:"entityIdentifier"`
	EventsCovered    []string `json:"eventsCovered"`
	Limits           string   `json:"limits,omitempty"`
}

func printKindsJSON(w io.Writer, kinds []library.Kind) error {
	out := make([]kindSummary, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, kindSummary{
			Type: k.Type, Name: k.Name, Blueprint: k.Blueprint.Identifier,
			Identifier:       k.CloudControlIdentifier(),
			EntityIdentifier: k.Mapping.Port.Entity.Mappings[0].Identifier,
			EventsCovered:    k.EventsCovered(),
			Limits:           k.Limits,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// kindsFlag is the --kinds list: comma-separated types or short names, or all.
func kindsFlag(cmd *cobra.Command, target *[]string) {
	cmd.Flags().StringSliceVar(target, "kinds", nil, "comma-separated kinds `K1,K2` (AWS::S3::Bucket or s3-bucket), or all; port-aws-exporter kinds list shows them")
	_ = cmd.MarkFlagRequired("kinds")
}

func newRulesGenerateCommand() *cobra.Command {
	var kinds []string
	var format, out string
	cmd := &cobra.Command{
		Use:   "generate --kinds K1,K2|all [--format cloudformation|terraform] [--out FILE]",
		Short: "Generate EventBridge rules that send changes of these kinds to the exporter's queue",
		Long: `Generate EventBridge rules that send changes of these kinds to the exporter's queue.

CloudFormation (the default) is a template like the one in Port's documentation:
deploy it next to the exporter's stack and pass that stack's name as
PortAWSExporterStackName; each rule's target imports <stack>-EventsQueueARN.
Terraform declares variable "events_queue_arn" for the queue's ARN.

Rules for global services (IAM, CloudFront) must be deployed in us-east-1,
where those services record their events.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			selected, f, err := selectKinds(kinds, format)
			if err != nil {
				return err
			}
			rendered, err := library.Rules(selected, f)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(rendered)
				return err
			}
			// Like init --dir, a missing directory is created (event-rules/ next to a Terraform root).
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("write rules: %w", err)
			}
			if err := os.WriteFile(out, rendered, 0o644); err != nil {
				return fmt.Errorf("write rules: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote the rules of %d kind(s) to %s\n", len(selected), out)
			return nil
		},
	}
	kindsFlag(cmd, &kinds)
	cmd.Flags().StringVar(&format, "format", "cloudformation", "cloudformation or terraform")
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (default: standard output)")
	return cmd
}

func newInitCommand() *cobra.Command {
	var kinds []string
	var format, dir string
	var force, apply bool
	cmd := &cobra.Command{
		Use:   "init --kinds K1,K2|all --dir DIR [--format cloudformation|terraform] [--force] [--apply]",
		Short: "Write config.json, blueprints.json and event rules for these kinds",
		Long: `Write a starting point for these kinds into DIR:

  config.json                  the exporter's mapping, one resources[] entry per kind
  blueprints.json              the Port blueprints, relation targets first
  port-aws-exporter-rules.*    the EventBridge rules (CloudFormation or Terraform)

Relations to blueprints outside the selection are left out. Existing files are
never overwritten unless --force is given. --apply then creates or updates the
blueprints in Port, as "blueprints apply --file DIR/blueprints.json" does (it reads
PORT_CLIENT_ID and PORT_CLIENT_SECRET, or PORT_CREDS_SECRET_ARN, and PORT_API_URL).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			selected, f, err := selectKinds(kinds, format)
			if err != nil {
				return err
			}
			files, err := initFiles(selected, f)
			if err != nil {
				return err
			}
			if err := writeNewFiles(dir, files, force); err != nil {
				return err
			}
			for _, file := range files {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(dir, file.name))
			}
			if apply {
				return applyInitBlueprints(cmd, filepath.Join(dir, "blueprints.json"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "then create or update the blueprints in Port (blueprints apply)")
	kindsFlag(cmd, &kinds)
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write into (created if missing)")
	_ = cmd.MarkFlagRequired("dir")
	cmd.Flags().StringVar(&format, "format", "cloudformation", "rules format: cloudformation or terraform")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

type namedFile struct {
	name string
	data []byte
}

func initFiles(kinds []library.Kind, f library.Format) ([]namedFile, error) {
	bundle := library.NewBundle(kinds)
	cfg, err := bundle.ConfigJSON()
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	blueprints, err := bundle.BlueprintsJSON()
	if err != nil {
		return nil, fmt.Errorf("blueprints.json: %w", err)
	}
	rules, err := library.Rules(kinds, f)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return []namedFile{{"config.json", cfg}, {"blueprints.json", blueprints}, {f.RulesFileName(), rules}}, nil
}

// writeNewFiles writes every file or none: without force, any existing file
// stops the command before anything is written.
func writeNewFiles(dir string, files []namedFile, force bool) error {
	if !force {
		var existing []string
		for _, f := range files {
			path := filepath.Join(dir, f.name)
			if _, err := os.Lstat(path); err == nil {
				existing = append(existing, path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check %s: %w", path, err)
			}
		}
		if len(existing) > 0 {
			return fmt.Errorf("not overwriting %s: use --force to replace", strings.Join(existing, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL // a file created meanwhile is still not overwritten
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		fh, err := os.OpenFile(path, flags, 0o644)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		_, werr := fh.Write(f.data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", path, werr)
		}
	}
	return nil
}

// selectKinds resolves the --kinds and --format flags of generate and init.
func selectKinds(kinds []string, format string) ([]library.Kind, library.Format, error) {
	f, err := library.ParseFormat(format)
	if err != nil {
		return nil, "", err
	}
	selected, err := library.Select(kinds)
	return selected, f, err
}
