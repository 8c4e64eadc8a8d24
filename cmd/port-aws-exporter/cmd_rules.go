package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/rules/lint"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// rulesSubcommands holds the constructors of the `rules` subcommands; other
// files append to it from their init (cmd_kinds.go adds `rules generate`).
var rulesSubcommands []func() *cobra.Command

func init() {
	registerCommand(newRulesCommand)
	rulesSubcommands = append(rulesSubcommands, newRulesTestCommand, newRulesLintCommand)
}

func newRulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with EventBridge rules that feed the exporter's queue",
	}
	for _, f := range rulesSubcommands {
		cmd.AddCommand(f())
	}
	return cmd
}

func newRulesTestCommand() *cobra.Command {
	var rulesPath, eventPath, configPath, defaultRegion string
	output := newOutputFormat("text", "json")
	cmd := &cobra.Command{
		Use:   "test --rules RULES --event EVENT.json [--config config.json]",
		Short: "Test EventBridge rules offline against one event",
		Long: `Test EventBridge rules offline against one event.

RULES is a CloudFormation template (YAML or JSON) holding AWS::Events::Rule
resources, or the project's JSON rules file. EVENT is an EventBridge event or
a bare CloudTrail record, which is wrapped as EventBridge delivers it.

For every rule whose pattern matches, it prints the exact message each target
would receive and what the exporter makes of it: resource_type, region,
action and identifier. With --config it also says which config.json entries
and blueprints would be touched. No match is not an error (exit 0); a
message the exporter would reject is (exit 1), and so is a message whose keys
differ from its template's: a value inserted unescaped inside quotes added or
repeated fields (the report names the keys and the placeholder).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, err := template.ParseFile(rulesPath)
			if err != nil {
				return err
			}
			opts := ruletest.Options{DefaultRegion: defaultRegion}
			if configPath != "" {
				cfg, err := exporter.ReadConfig(cmd.Context(), configPath) // s3:// too, like every other --config
				if err != nil {
					return err
				}
				if opts.Mapper, err = mapping.Compile(cfg); err != nil {
					return fmt.Errorf("config %s: %w", configPath, err)
				}
			}
			suite, err := ruletest.Compile(rules, opts)
			if err != nil {
				return err // names each rule with its file and line
			}
			event, err := os.ReadFile(eventPath)
			if err != nil {
				return fmt.Errorf("read event: %w", err)
			}
			report, err := suite.Run(cmd.Context(), event)
			if err != nil {
				return fmt.Errorf("event %s: %w", eventPath, err)
			}
			if output.String() == "json" {
				err = report.WriteJSON(cmd.OutOrStdout())
			} else {
				err = report.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if n := report.Injections(); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d matching target(s) would send a message whose keys differ from the template's (injection through a quoted placeholder)", n)}
			}
			if n := report.Problems(); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d matching target(s) would send a message the exporter rejects", n)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rulesPath, "rules", "", "CloudFormation template or project rules file (required)")
	cmd.Flags().StringVar(&eventPath, "event", "", "EventBridge event or bare CloudTrail record, JSON (required)")
	cmd.Flags().StringVar(&configPath, "config", "", "the exporter's config.json or YAML, a path or s3://bucket/key: what it would do with each message")
	cmd.Flags().StringVar(&defaultRegion, "default-region", "", "the exporter's region, for config entries that name no region")
	cli.BindEnv(cmd.Flags(), "default-region", "AWS_REGION")
	output.bind(cmd, "output format")
	_ = cmd.MarkFlagRequired("rules")
	_ = cmd.MarkFlagRequired("event")
	document(cmd, `
		port-aws-exporter rules test --rules port-aws-exporter-rules.yaml --event event.json
		port-aws-exporter rules test --rules rules.yaml --event cloudtrail-record.json --config config.json -o json`,
		envAWS,
		exitStatus{exitOK, "every matching target's message is one the exporter accepts (no match is no error)"},
		exitStatus{exitFailed, "a matching target would send a message the exporter rejects, or whose keys were injected; or a file could not be read"})
	return cmd
}

func newRulesLintCommand() *cobra.Command {
	output := newOutputFormat("text", "json")
	cmd := &cobra.Command{
		Use:   "lint RULES",
		Short: "Find rules a denied caller could write into the exporter's messages through",
		Long: `Find rules a denied caller could write into the exporter's messages through.

RULES is a CloudFormation template holding AWS::Events::Rule resources, or the
project's JSON rules file, as rules test --rules takes. For each rule it
reports

  quoted-placeholder  a placeholder inside quotes ("key": "<name>") fed from a
                      field the caller chooses (requestParameters,
                      responseElements, userIdentity, userAgent, ...):
                      EventBridge inserts such strings unescaped, so a value
                      holding '"' adds or repeats fields of the message;
  failed-calls        a rule matching CloudTrail records that does not exclude
                      failed calls: CloudTrail records a DENIED call with the
                      caller's own request parameters.

Each finding comes with its fix. Exit 1 when there is any finding.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rules, err := template.ParseFile(args[0])
			if err != nil {
				return err
			}
			report, err := lint.Rules(rules)
			if err != nil {
				return err
			}
			report.File = args[0]
			if output.String() == "json" {
				err = report.WriteJSON(cmd.OutOrStdout())
			} else {
				err = report.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if n := len(report.Findings); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s: %d finding(s)", args[0], n)}
			}
			return nil
		},
	}
	output.bind(cmd, "output format")
	document(cmd, `
		port-aws-exporter rules lint port-aws-exporter-rules.yaml
		port-aws-exporter rules lint rules.json -o json`, envNone,
		exitStatus{exitOK, "no finding"},
		exitStatus{exitFailed, "a finding (each printed with its fix), or the rules could not be read"})
	return cmd
}
