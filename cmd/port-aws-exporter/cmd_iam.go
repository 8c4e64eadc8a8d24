package main

import (
	"encoding/json"
	"fmt"
	"github.com/port-labs/port-aws-exporter/internal/credentials"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
)

func init() { registerCommand(newIAMCommand) }

func newIAMCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "iam", Short: "The IAM permissions the exporter needs"}
	var location, queueARN, dlqARN, secretARN, partition string
	output := newOutputFormat("json", "actions")
	policy := &cobra.Command{
		Use:   "policy --config FILE",
		Short: "Print the least read-only IAM policy for the kinds of a config",
		Long: `Print the IAM policy the exporter's role needs for this config, and nothing more:

  - Cloud Control's cloudformation:ListResources and GetResource;
  - the list and read handler permissions of each configured kind, from AWS's
    resource provider schemas (internal/catalog), keeping only read-only
    actions: writes, kms:Decrypt and data reads (s3:GetObject, ...) that some
    schemas list are left out and named on standard error;
  - the permissions of the readers other than Cloud Control, for their kinds;
  - sts:GetCallerIdentity (the account id of ownership);
  - s3:GetObject on the config when it is read from s3://;
  - with --secret-arn, secretsmanager:GetSecretValue on the Port credentials;
  - with --queue-arn and --dead-letter-queue-arn, the events queues' actions.

-o actions prints only the kinds' read actions, comma separated: the value of
the CloudFormation stack's ResourceReadActions parameter (and, as a list, of
the Terraform module's resource_read_actions).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loc, err := configLocation(location)
			if err != nil {
				return err
			}
			cfg, err := exporter.ReadConfig(cmd.Context(), loc)
			if err != nil {
				return err
			}
			if problems := config.Validate(cfg); len(problems) > 0 {
				return &config.ValidationError{Source: cfg.Source, Problems: problems}
			}
			if partition == "" {
				partition = partitionOf(os.Getenv("AWS_REGION"))
			}
			p, err := buildPolicy(cfg, policyInputs{QueueARN: queueARN, DeadLetterQueueARN: dlqARN, SecretARN: secretARN, Partition: partition})
			if err != nil {
				return err
			}
			reportLeftOut(cmd.ErrOrStderr(), p.perms)
			if output.String() == "actions" {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), strings.Join(p.perms.Actions, ","))
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(p.doc)
		},
	}
	policy.Flags().StringVar(&location, "config", "", configFlagUsage)
	output.bind(policy, "the policy document (json) or the kinds' read actions, comma separated (actions)")
	policy.Flags().StringVar(&queueARN, "queue-arn", "", "ARN of the events queue (serve, Lambda): grants consuming it and sending shard messages")
	policy.Flags().StringVar(&dlqARN, "dead-letter-queue-arn", "", "ARN of the dead-letter queue: grants sending to it")
	policy.Flags().StringVar(&secretARN, "secret-arn", os.Getenv("PORT_CREDS_SECRET_ARN"), "ARN of the Secrets Manager secret with the Port credentials (default $PORT_CREDS_SECRET_ARN)")
	policy.Flags().StringVar(&partition, "partition", "", "partition of the ARNs written (default: that of $AWS_REGION, else aws)")
	document(policy, `
		port-aws-exporter iam policy --config config.json > policy.json
		port-aws-exporter iam policy --config s3://my-bucket/config.json --secret-arn "$PORT_CREDS_SECRET_ARN" --queue-arn arn:aws:sqs:eu-west-1:123456789012:port-events
		port-aws-exporter iam policy --config config.json -o actions   # the stack's ResourceReadActions`,
		concat(envConfig, []string{"AWS_REGION", credentials.EnvSecretARN}),
		exitStatus{exitOK, "the policy was printed (actions left out are named on standard error)"},
		exitStatus{exitFailed, "the config could not be read or has problems"})
	cmd.AddCommand(policy)
	return cmd
}

// policyInputs are the deployment's resources the policy names.
type policyInputs struct {
	QueueARN, DeadLetterQueueARN, SecretARN, Partition string
}

// iamPolicy is an IAM policy document.
type iamPolicy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid      string `json:"Sid"`
	Effect   string `json:"Effect"`
	Action   []string
	Resource any `json:"Resource"`
}

func (s statement) MarshalJSON() ([]byte, error) {
	type plain struct {
		Sid      string   `json:"Sid"`
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource any      `json:"Resource"`
	}
	return json.Marshal(plain(s))
}

type builtPolicy struct {
	doc   iamPolicy
	perms catalog.Permissions
}

// buildPolicy is the least policy for cfg's kinds and the given resources;
// the statement ids are those of the CloudFormation stack and the Terraform
// module, so that the three read alike.
func buildPolicy(cfg *config.Config, in policyInputs) (builtPolicy, error) {
	var kinds []string
	seen := map[string]bool{}
	cloudControl := false
	for _, r := range cfg.Resources {
		if seen[r.Kind] {
			continue
		}
		seen[r.Kind] = true
		kinds = append(kinds, r.Kind)
		if t, ok := catalog.Lookup(r.Kind); ok && t.Readable() {
			cloudControl = true
		}
	}
	perms := catalog.ReadPermissions(kinds)
	if len(perms.Unknown) > 0 {
		return builtPolicy{}, fmt.Errorf("no read permissions known for %s: run `port-aws-exporter config validate` for why", strings.Join(perms.Unknown, ", "))
	}
	if in.Partition == "" {
		in.Partition = "aws"
	}
	doc := iamPolicy{Version: "2012-10-17"}
	add := func(sid string, resource any, actions ...string) {
		doc.Statement = append(doc.Statement, statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resource})
	}
	if cloudControl {
		// Cloud Control's read calls have no resource-level permissions.
		add("CloudControlRead", "*", "cloudformation:ListResources", "cloudformation:GetResource")
	}
	add("WhoAmI", "*", "sts:GetCallerIdentity")
	if len(perms.Actions) > 0 {
		add("ConfiguredKindsRead", "*", perms.Actions...)
	}
	if strings.HasPrefix(cfg.Source, "s3://") {
		bucket, key, err := config.ParseS3URL(cfg.Source)
		if err != nil {
			return builtPolicy{}, err
		}
		add("ConfigObjectRead", "arn:"+in.Partition+":s3:::"+bucket+"/"+key, "s3:GetObject")
	}
	if in.SecretARN != "" {
		add("PortCredentialsRead", in.SecretARN, "secretsmanager:GetSecretValue")
	}
	if in.QueueARN != "" {
		add("EventsQueue", in.QueueARN, "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
			"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")
	}
	if in.DeadLetterQueueARN != "" {
		add("DeadLetterQueue", in.DeadLetterQueueARN, "sqs:SendMessage", "sqs:GetQueueUrl")
	}
	return builtPolicy{doc: doc, perms: perms}, nil
}

// reportLeftOut names the handler permissions a read-only policy leaves out.
func reportLeftOut(w io.Writer, p catalog.Permissions) {
	if len(p.LeftOut) == 0 {
		return
	}
	actions := make([]string, 0, len(p.LeftOut))
	for a := range p.LeftOut {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	fmt.Fprintln(w, "left out (not read-only; grant them yourself only if a read fails with AccessDenied):")
	for _, a := range actions {
		fmt.Fprintf(w, "  %s (listed by %s)\n", a, strings.Join(p.LeftOut[a], ", "))
	}
}

func partitionOf(region string) string {
	if p, ok := catalog.PartitionOf(region); ok {
		return p
	}
	return "aws"
}
