package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/suggest"
)

// The kinds catalog's commands: `kinds list`, `rules generate` and `init`.
func init() {
	registerCommand(newKindsCommand)
	registerCommand(newInitCommand)
	rulesSubcommands = append(rulesSubcommands, newRulesGenerateCommand)
}

func newKindsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "kinds", Short: "The AWS resource types with a ready-made rule, mapping and blueprint"}
	output := newOutputFormat("text", "json")
	var all bool
	list := &cobra.Command{
		Use:   "list [--all] [TYPE...]",
		Short: "List the supported kinds: type, blueprint, events covered, identifier",
		Long: `List the kinds of the rule library (a ready-made rule, mapping and blueprint
each): type, --kinds name, blueprint, Cloud Control identifier, events covered.

With --all, or with type names, list CloudFormation types from the embedded
catalogue instead (every one AWS publishes, with what Cloud Control can do
with it): whether the exporter can read it and how (cloudcontrol, describe,
or not), whether its listing needs a resource model (a child type), whether
its service is global, and whether the library has it. -o json adds the IAM
permissions of its list and read handlers.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all || len(args) > 0 {
				return printCatalogTypes(cmd.OutOrStdout(), args, output.String() == "json")
			}
			kinds, err := library.All()
			if err != nil {
				return err
			}
			if output.String() == "json" {
				return printKindsJSON(cmd.OutOrStdout(), kinds)
			}
			return printKinds(cmd.OutOrStdout(), kinds)
		},
	}
	output.bind(list, "output format")
	list.Flags().BoolVar(&all, "all", false, "list every CloudFormation type of the catalogue, with its readability")
	document(list, `
		port-aws-exporter kinds list
		port-aws-exporter kinds list -o json | jq -r '.[].type'
		port-aws-exporter kinds list --all
		port-aws-exporter kinds list AWS::CodeBuild::Project AWS::Lambda::Function -o json`, envNone,
		exitStatus{exitOK, "the kinds were printed"},
		exitStatus{exitFailed, "the embedded library could not be read (a broken build)"})
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
	// ReadPermissions are the read-only IAM actions reading the kind needs
	// (`iam policy` puts them in a policy).
	ReadPermissions []string `json:"readPermissions"`
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
			ReadPermissions:  catalog.ReadPermissions([]string{k.Type}).Actions,
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
	var out string
	var members, awsConfig bool
	// -o is the format here too (cloudformation or terraform); a value that
	// is no format is the file of the old `-o FILE` spelling, for one release.
	format := newOutputFormat("cloudformation", "terraform")
	format.legacyFile = &out
	cmd := &cobra.Command{
		Use:   "generate --kinds K1,K2|all [--format cloudformation|terraform] [--out-file FILE]",
		Short: "Generate EventBridge rules that send changes of these kinds to the exporter's queue",
		Long: `Generate EventBridge rules that send changes of these kinds to the exporter's queue.

CloudFormation (the default) is a template like the one in Port's documentation:
deploy it next to the exporter's stack and pass that stack's name as
PortAWSExporterStackName; each rule's target imports <stack>-EventsQueueARN.
Terraform declares variable "events_queue_arn" for the queue's ARN.

Global services (IAM, CloudFront, Route 53, Organizations; Global
Accelerator in us-west-2) record their events in one region only. Their
rules are in the main output too (they match there when the exporter runs in
that region, and match the forwarded events otherwise), and forwarding rules
send the events from that region to the exporter's: in CloudFormation, one
more template per region, written beside --out as FILE.<region>.yaml (deploy
it in that region with ExporterRegion set; its Rules refuse another region);
in Terraform, a module per region, port-aws-exporter-forwarding-<region>/ next
to --out (instantiate it with a provider of that region and exporter_region;
it creates nothing when that is the exporter's region). Configure those kinds with
selector.aws.regions ["us-east-1"] (the region their events carry).

--member-accounts also writes FILE.member-account.yaml, the template for the
member accounts of an AWS Organization (deploy it as a service-managed
StackSet to the organization or its OUs, in every region the exporter reads):
a read-only role the exporter assumes with an external ID, holding these
kinds' read permissions, and rules that forward each account's changes of
these kinds to the default event bus of the exporter's account and region,
where the main rules send them to the queue with the account's id. The
exporter's stack must allow the organization to put events on that bus
(OrganizationId in deploy/cloudformation/template.yaml). See docs/install.md.

--aws-config also writes FILE.aws-config.yaml: two rules on AWS Config's
"Config Configuration Item Change" events (the item, and the summary Config
sends for an oversized item) that turn a change of any recorded type of these
kinds into a message, whatever made the change. They complement the
CloudTrail rules: Config is best effort and only sees the types its recorder
records. Kinds whose Cloud Control identifier no configuration item field
holds are named and left to their CloudTrail rules (docs/rules.md).`,
		Example: `  port-aws-exporter rules generate --kinds lambda-function,s3-bucket --out port-aws-exporter-rules.yaml
  port-aws-exporter rules generate --kinds all --out rules.yaml   # also rules.us-east-1.yaml for IAM and CloudFront
  port-aws-exporter rules generate --kinds all --format terraform --out event-rules/port-aws-exporter-rules.tf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format.legacyUsed {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: -o %s: -o is the output format now (cloudformation or terraform); "+
					"writing to %s as before, but use --out-file %s: the old spelling goes in the next release\n", out, out, out)
			}
			selected, f, err := selectKinds(kinds, format.String())
			if err != nil {
				return usageError(err)
			}
			rendered, err := library.Rules(selected, f)
			if err != nil {
				return err
			}
			forwarding, err := forwardingFiles(selected, f)
			if err != nil {
				return err
			}
			// Both extra templates are CloudFormation, written beside --out-file.
			besideMain := func(flag, why string) error {
				if f != library.FormatCloudFormation {
					return usageError(fmt.Errorf("%s: %s", flag, why))
				}
				if out == "" || out == "-" {
					return usageError(fmt.Errorf("%s writes a second template beside --out-file FILE: give one", flag))
				}
				return nil
			}
			var member, configRules []byte
			if members {
				if err := besideMain("--member-accounts", "the member-account template is CloudFormation, for a StackSet (Terraform deploys it with deploy/terraform/modules/member-accounts)"); err != nil {
					return err
				}
				if member, err = library.MemberTemplate(selected, awsConfig); err != nil {
					return err
				}
			}
			if awsConfig {
				if err := besideMain("--aws-config", "the AWS Config rules are CloudFormation only for now; generate them with -o cloudformation"); err != nil {
					return err
				}
				if configRules, err = library.ConfigTemplate(selected); err != nil {
					return usageError(err) // the selection: none of its kinds can be named from a configuration item
				}
			}
			if out == "" || out == "-" {
				if _, err := cmd.OutOrStdout().Write(rendered); err != nil {
					return err
				}
				for _, fw := range forwarding {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: %d kind(s) record their events in %s only; the rules that forward them from there are written with --out FILE, as %s\n",
						len(fw.Kinds), fw.Region, forwardingPath("FILE", f, fw.Region))
				}
				return nil
			}
			// Like init --dir, a missing directory is created (event-rules/ next to a Terraform root).
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("write rules: %w", err)
			}
			if err := os.WriteFile(out, rendered, 0o644); err != nil {
				return fmt.Errorf("write rules: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote the rules of %d kind(s) to %s\n", len(selected), out)
			for _, fw := range forwarding {
				path := forwardingPath(out, f, fw.Region)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return fmt.Errorf("write rules: %w", err)
				}
				if err := os.WriteFile(path, fw.Data, 0o644); err != nil {
					return fmt.Errorf("write rules: %w", err)
				}
				how := fmt.Sprintf("deploy it in %s with %s=<the exporter's region>", fw.Region, library.ExporterRegionParameter)
				if f == library.FormatTerraform {
					how = fmt.Sprintf("a module: give it providers = { aws = aws.%s } and %s", library.ProviderAlias(fw.Region), library.ExporterRegionVariable)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the forwarding rules of %d global kind(s) to %s: %s\n", len(fw.Kinds), path, how)
			}
			if configRules != nil {
				path := library.ConfigFileName(out)
				if err := os.WriteFile(path, configRules, 0o644); err != nil {
					return fmt.Errorf("write rules: %w", err)
				}
				covered, left := library.ConfigCovered(selected)
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the AWS Config rules of %d kind(s) to %s\n", len(covered), path)
				types := make([]string, 0, len(left))
				for t := range left {
					types = append(types, t)
				}
				sort.Strings(types)
				for _, t := range types {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is left to its CloudTrail rule: %s\n", t, left[t])
				}
			}
			if member != nil {
				path := library.MemberFileName(out)
				if err := os.WriteFile(path, member, 0o644); err != nil {
					return fmt.Errorf("write rules: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the member-account template of %d kind(s) to %s: deploy it as a StackSet to the organization's accounts\n", len(selected), path)
			}
			return nil
		},
	}
	kindsFlag(cmd, &kinds)
	cmd.Flags().VarP(format, "format", "o", "output format: cloudformation or terraform")
	outFileFlag(cmd, &out, "file to write (default: standard output)", "out")
	cmd.Flags().BoolVar(&awsConfig, "aws-config", false, "also write FILE.aws-config.yaml, rules on AWS Config's configuration item changes of these kinds")
	cmd.Flags().BoolVar(&members, "member-accounts", false, "also write FILE.member-account.yaml, the StackSet template for an organization's member accounts (read role and forwarding rules)")
	document(cmd, `
		port-aws-exporter rules generate --kinds lambda-function,s3-bucket --out-file port-aws-exporter-rules.yaml
		port-aws-exporter rules generate --kinds all --member-accounts --out-file rules.yaml   # also rules.member-account.yaml
		port-aws-exporter rules generate --kinds all -o terraform --out-file event-rules/main.tf
		port-aws-exporter rules generate --kinds AWS::SQS::Queue`, envNone,
		exitStatus{exitOK, "the rules were written"},
		exitStatus{exitFailed, "the file could not be written"},
		exitStatus{exitUsage, "an unknown kind or format, or an invalid flag"})
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
  port-aws-exporter-rules.<region>.yaml, or port-aws-exporter-forwarding-<region>/main.tf
                               for kinds of global services (IAM, CloudFront):
                               forwarding rules to deploy in the region their
                               events arrive in (see rules generate)

Relations to blueprints outside the selection are left out. Existing files are
never overwritten unless --force is given. --apply then creates or updates the
blueprints in Port, as "blueprints apply --file DIR/blueprints.json" does (it reads
PORT_CLIENT_ID and PORT_CLIENT_SECRET, or PORT_CREDS_SECRET_ARN, and PORT_API_URL).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			selected, f, err := selectKinds(kinds, format)
			if err != nil {
				return usageError(err)
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
	document(cmd, `
		port-aws-exporter init --kinds lambda-function,s3-bucket,sqs-queue --dir ./port
		port-aws-exporter init --kinds all --dir ./port --format terraform --force`, envNone,
		exitStatus{exitOK, "the files were written (their paths are printed)"},
		exitStatus{exitFailed, "a file exists (without --force; nothing was written) or could not be written"},
		exitStatus{exitUsage, "an unknown kind or format, or an invalid flag"})
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
	files := []namedFile{{"config.json", cfg}, {"blueprints.json", blueprints}, {f.RulesFileName(), rules}}
	forwarding, err := forwardingFiles(kinds, f)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, fw := range forwarding {
		files = append(files, namedFile{forwardingPath(f.RulesFileName(), f, fw.Region), fw.Data})
	}
	return files, nil
}

// forwardingFiles are the rules that forward the events of global services
// to the exporter's region, in the format's shape: a template per region
// (CloudFormation) or a module per region (Terraform).
func forwardingFiles(kinds []library.Kind, f library.Format) ([]library.ForwardingFile, error) {
	if f == library.FormatTerraform {
		return library.TerraformForwarding(kinds)
	}
	return library.ForwardingTemplates(kinds)
}

// forwardingPath is where the forwarding rules of region go, beside the main
// rules file: FILE.<region>.yaml, or the module directory
// port-aws-exporter-forwarding-<region>/main.tf next to FILE.
func forwardingPath(main string, f library.Format, region string) string {
	if f == library.FormatTerraform {
		return filepath.Join(filepath.Dir(main), library.ForwardingDirName(region), library.ForwardingModuleFile)
	}
	return library.ForwardingFileName(main, region)
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
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
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
	if err := checkLibraryKinds(kinds); err != nil {
		return nil, "", err
	}
	selected, err := library.Select(kinds)
	return selected, f, err
}

// checkLibraryKinds refuses a --kinds entry the library does not have, saying
// what it is instead: a typo (with the names it was probably meant to be), a
// CloudFormation type the library has no rule for (readable or not), or
// nothing AWS publishes.
func checkLibraryKinds(spec []string) error {
	all, err := library.All()
	if err != nil {
		return err
	}
	var names []string
	known := map[string]bool{"all": true, "": true}
	for _, k := range all {
		names = append(names, k.Type, k.Name)
		known[strings.ToLower(k.Type)] = true
		known[strings.ToLower(k.Name)] = true
	}
	var problems []string
	for _, raw := range spec {
		name := strings.TrimSpace(raw)
		if known[strings.ToLower(name)] {
			continue
		}
		msg := fmt.Sprintf("unknown kind %q", name)
		if t, ok := catalog.Lookup(name); ok {
			if t.Readable() {
				msg = fmt.Sprintf("%s has no ready-made rule, mapping and blueprint in the library; Cloud Control can read it: write its resources[] entry in config.json yourself", name)
			} else {
				msg = fmt.Sprintf("%s has no ready-made rule, mapping and blueprint in the library, and the exporter cannot read it: %s", name, t.WhyUnreadable())
			}
		} else {
			hints := suggest.Closest(name, names, 4)
			if len(hints) == 0 {
				hints = catalog.Suggest(name)
			}
			if hint := suggest.Phrase(hints); hint != "" {
				msg += "; " + hint
			}
		}
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s (port-aws-exporter kinds list shows the library's kinds)", strings.Join(problems, "; "))
	}
	return nil
}

// catalogTypeSummary is one type of `kinds list --all -o json`.
type catalogTypeSummary struct {
	Type              string   `json:"type"`
	Reader            string   `json:"reader"` // cloudcontrol, describe, accountinfo, or none
	Why               string   `json:"whyNotReadable,omitempty"`
	ListNeedsModel    bool     `json:"listNeedsModel"`
	ListRequires      []string `json:"listRequires,omitempty"`
	Global            string   `json:"globalEventRegion,omitempty"`
	Library           string   `json:"library,omitempty"`
	PrimaryIdentifier []string `json:"primaryIdentifier,omitempty"`
	ListPermissions   []string `json:"listPermissions,omitempty"`
	ReadPermissions   []string `json:"readPermissions,omitempty"`
}

// printCatalogTypes lists catalogue types (every one, or those named).
func printCatalogTypes(w io.Writer, names []string, asJSON bool) error {
	kinds, err := library.All()
	if err != nil {
		return err
	}
	inLibrary := map[string]string{}
	for _, k := range kinds {
		inLibrary[k.Type] = k.Name
	}
	var types []catalog.Type
	if len(names) == 0 {
		types = catalog.Types()
	}
	for _, n := range names {
		t, ok := catalog.Lookup(n)
		if !ok {
			if _, other := catalog.OtherReader(n); !other {
				msg := fmt.Sprintf("%q is not in the catalogue of CloudFormation types", n)
				if hint := suggest.Phrase(catalog.Suggest(n)); hint != "" {
					msg += "; " + hint
				}
				return errors.New(msg)
			}
			t = catalog.Type{Name: n}
		}
		types = append(types, t)
	}
	out := make([]catalogTypeSummary, 0, len(types))
	for _, t := range types {
		s := catalogTypeSummary{Type: t.Name, Reader: "none", ListNeedsModel: t.ListNeedsModel, ListRequires: t.ListRequires,
			Library: inLibrary[t.Name], PrimaryIdentifier: t.PrimaryIdentifier,
			ListPermissions: t.ListPermissions, ReadPermissions: t.ReadPermissions}
		if r, ok := catalog.OtherReader(t.Name); ok {
			s.Reader = r.Name
			s.ReadPermissions = r.Permissions
		}
		if t.Readable() {
			s.Reader = "cloudcontrol"
		} else if s.Reader == "none" {
			s.Why = t.WhyUnreadable()
		}
		if g, ok := catalog.GlobalService(t.Name); ok {
			s.Global = g.EventRegion
		}
		out = append(out, s)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tREADER\tLISTED PER PARENT\tGLOBAL (EVENTS IN)\tLIBRARY")
	for _, s := range out {
		reader := s.Reader
		if t, ok := catalog.Lookup(s.Type); ok && s.Why != "" {
			switch {
			case !t.CloudControl:
				reader = "none (not a Cloud Control type)"
			case !t.List:
				reader = "none (no list handler)"
			default:
				reader = "none (no read handler)"
			}
		}
		perParent := "-"
		if s.ListNeedsModel {
			perParent = "yes"
			if len(s.ListRequires) > 0 {
				perParent = strings.Join(s.ListRequires, ", ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Type, reader, perParent, orDash(s.Global), orDash(s.Library))
	}
	fmt.Fprintf(tw, "\n%d types, from %s and the registry's resource schemas (-o json for permissions and reasons)\n", len(out), catalog.Sources().CfnLint)
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
