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
	var configPath, defaultRegion string
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

With --config, also

  identifier-mismatch a delete the rule sends names the resource by an
                      identifier (a name) that the config's entity
                      identifier for that kind (a computed ARN, say) cannot
                      be led back to: every such deletion event reaches no
                      entity, which lingers until the next full sync. The
                      rule's messages are built from its own EventPattern
                      (one event per event name it lists), so no event
                      file is needed.

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
			if configPath != "" {
				found, err := identifierMismatches(cmd, rules, configPath, defaultRegion)
				if err != nil {
					return err
				}
				report.Findings = append(report.Findings, found...)
			}
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
	cmd.Flags().StringVar(&configPath, "config", "", "the exporter's config.json or YAML, a path or s3://bucket/key: also check that each delete a rule sends can reach the entity the config names")
	cmd.Flags().StringVar(&defaultRegion, "default-region", "", "the exporter's region, for config entries that name no region")
	cli.BindEnv(cmd.Flags(), "default-region", "AWS_REGION")
	output.bind(cmd, "output format")
	document(cmd, `
		port-aws-exporter rules lint port-aws-exporter-rules.yaml
		port-aws-exporter rules lint rules.json -o json
		port-aws-exporter rules lint seed-rules.yaml --config config.json`, envNone,
		exitStatus{exitOK, "no finding"},
		exitStatus{exitFailed, "a finding (each printed with its fix), or the rules could not be read"})
	return cmd
}

// identifierMismatches runs the rules' own sample events through the
// exporter's reading of their messages and the config's mappings, and turns
// each delete that can reach no entity into a lint finding.
func identifierMismatches(cmd *cobra.Command, rules []template.Rule, configPath, defaultRegion string) ([]lint.Finding, error) {
	cfg, err := exporter.ReadConfig(cmd.Context(), configPath)
	if err != nil {
		return nil, err
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", configPath, err)
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{Mapper: mapper, DefaultRegion: defaultRegion})
	if err != nil {
		return nil, err
	}
	found, err := suite.Disagreements(cmd.Context())
	if err != nil {
		return nil, err
	}
	var findings []lint.Finding
	for _, d := range found {
		f := lint.Finding{Rule: d.Rule, File: d.File, Line: d.Line, Kind: lint.IdentifierMismatch, Target: d.Target, Message: d.Message, Fix: d.Fix}
		if d.EventName != "" {
			f.Where = "on " + d.EventName
		}
		findings = append(findings, f)
	}
	return findings, nil
}
