package library

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

// An organization's member accounts reach the exporter two ways, both set up
// by one template deployed in every member account and region (a
// CloudFormation StackSet, service-managed, targeting the organization or its
// OUs):
//
//   - a read-only role the exporter assumes (aws.organization.member_role_name
//     or aws.accounts[].role_arn in its config), trusted by the exporter's own
//     role only, with an external ID; its policy is the configured kinds'
//     read permissions (internal/catalog, as `iam policy` prints them);
//   - forwarding rules on the member's default event bus, one per kind, with
//     the library's own patterns, sending the matching events unchanged to
//     the default event bus of the exporter's account and region. There the
//     main rules template's rules (every kind's) match them as they match the
//     exporter account's own events, and send the message to the queue; the
//     message's account_id is the record's recipientAccountId, so the
//     exporter reconciles in that account with that account's role.
//
// The exporter's bus accepts the forwarded events because the exporter's
// stack (deploy/cloudformation, OrganizationId) puts an event bus policy on
// it that allows events:PutEvents to principals of the organization
// (aws:PrincipalOrgID). A member cannot forge an AWS event there (PutEvents
// refuses sources starting with "aws."), and whatever a message says, the
// exporter only re-reads the resource in that account: a forged or
// misdirected event costs a read, never a wrong write or delete.

// Member-account template parameters.
const (
	MemberExporterAccountParameter = "ExporterAccountId"
	MemberExporterRegionParameter  = "ExporterRegion"
	MemberExporterRoleParameter    = "ExporterRoleArn"
	MemberExternalIDParameter      = "ExternalId"
	MemberRoleNameParameter        = "MemberRoleName"
	MemberRoleRegionParameter      = "ReadRoleRegion"
)

// DefaultMemberRoleName is the read role's name in every member account.
const DefaultMemberRoleName = "port-aws-exporter-read"

// MemberForwardTargetID is the exporter's event bus in a member's forwarding rules.
const MemberForwardTargetID = "PortAWSExporterAccountEventBus"

// MemberFileName is the member-account template's name beside the main one:
// port-aws-exporter-rules.yaml gives port-aws-exporter-rules.member-account.yaml.
func MemberFileName(main string) string {
	return strings.TrimSuffix(main, ".yaml") + ".member-account.yaml"
}

// MemberTemplate renders the member-account template for kinds; with
// awsConfig, it also forwards AWS Config's configuration item changes of the
// kinds the Config rules cover (rules generate --aws-config), which the
// exporter's account then turns into messages with its Config rules.
func MemberTemplate(kinds []Kind, awsConfig bool) ([]byte, error) {
	var types []string
	for _, k := range kinds {
		types = append(types, k.Type)
	}
	perms := catalog.ReadPermissions(types)
	if len(perms.Unknown) > 0 {
		return nil, fmt.Errorf("member-account template: no read permissions known for %s", strings.Join(perms.Unknown, ", "))
	}
	actions := make([]any, len(perms.Actions))
	for i, a := range perms.Actions {
		actions[i] = a
	}
	// The exporter lists the account's enabled regions (discovery, when the
	// config's regionPolicy reads every enabled region: docs/accounts.md).
	if !slices.Contains(perms.Actions, "ec2:DescribeRegions") {
		actions = append(actions, "ec2:DescribeRegions")
	}
	bus := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${" + MemberExporterRegionParameter + "}:${" + MemberExporterAccountParameter + "}:event-bus/default"}
	forwarding := "IsMemberAccount"
	resources := map[string]any{
		"ReadRole": map[string]any{
			"Type":      "AWS::IAM::Role",
			"Condition": "CreateReadRole",
			// The actions are the resource schemas' own handler permissions,
			// which name services cfn-lint's list lacks (managed-fleets:Get*
			// for AutoScaling groups); IAM accepts them.
			"Metadata": map[string]any{"cfn-lint": map[string]any{"config": map[string]any{"ignore_checks": []any{"W3037"}}}},
			"Properties": map[string]any{
				"RoleName":    map[string]any{"Ref": MemberRoleNameParameter},
				"Description": "Read-only access for the Port AWS exporter (assumed by its role, with the external ID)",
				"AssumeRolePolicyDocument": map[string]any{
					"Version": "2012-10-17",
					"Statement": []any{map[string]any{
						"Effect":    "Allow",
						"Principal": map[string]any{"AWS": map[string]any{"Ref": MemberExporterRoleParameter}},
						"Action":    "sts:AssumeRole",
						"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": map[string]any{"Ref": MemberExternalIDParameter}}},
					}},
				},
				"Policies": []any{map[string]any{
					"PolicyName": "read-the-configured-kinds",
					"PolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Action": actions, "Resource": "*",
						}},
					},
				}},
			},
		},
		"ForwardingRole": forwardingRole("Lets EventBridge forward this account's resource changes to the Port AWS exporter's event bus",
			"put-events-to-the-exporters-bus", bus, forwarding),
	}
	for _, k := range kinds {
		id := strings.TrimSuffix(k.LogicalID(), "EventRule") + "MemberForwardRule"
		if _, dup := resources[id]; dup {
			return nil, fmt.Errorf("two kinds render to logical id %s", id)
		}
		resources[id] = forwardRule(k.RuleName()+"-member",
			fmt.Sprintf("Forwards changes of %s in this account to the Port AWS exporter's event bus", k.Type),
			k.Pattern(), MemberForwardTargetID, bus, forwarding)
	}
	if covered, _ := ConfigCovered(kinds); awsConfig && len(covered) > 0 {
		for _, c := range configItems {
			id := strings.TrimSuffix(c.logicalID, "EventRule") + "MemberForwardRule"
			resources[id] = forwardRule(c.name+"-member",
				"Forwards AWS Config's configuration item changes in this account to the Port AWS exporter's event bus",
				c.pattern(kindTypes(covered)), MemberForwardTargetID, bus, forwarding)
		}
	}
	template := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description": "Member account of an AWS Organization read by the Port AWS exporter: a read-only role it assumes, and rules that " +
			"forward this account's resource changes to the exporter's event bus (generated by port-aws-exporter rules generate " +
			"--member-accounts). Deploy it as a service-managed StackSet to the organization or its OUs, in every region the " +
			"exporter reads (the role is created in ReadRoleRegion only).",
		"Parameters": map[string]any{
			MemberExporterAccountParameter: map[string]any{
				"Description": "Account of the exporter's stack, whose default event bus receives the forwarded events",
				"Type":        "String", "AllowedPattern": `^\d{12}$`,
			},
			MemberExporterRegionParameter: map[string]any{
				"Description": "Region of the exporter's stack and of the main rules template",
				"Type":        "String", "AllowedPattern": catalog.RegionPattern(),
			},
			MemberExporterRoleParameter: map[string]any{
				"Description": "ARN of the exporter's role (the Lambda's, or the service's), the only principal the read role trusts",
				"Type":        "String", "AllowedPattern": `^arn:aws[a-z-]*:iam::\d{12}:role/.+$`,
			},
			MemberExternalIDParameter: map[string]any{
				"Description": "External ID the exporter sends (aws.organization.external_id in its config)",
				"Type":        "String", "MinLength": 2, "MaxLength": 1224, "AllowedPattern": `^[\w+=,.@:/-]+$`,
			},
			MemberRoleNameParameter: map[string]any{
				"Description": "Name of the read role (aws.organization.member_role_name in the exporter's config)",
				"Type":        "String", "Default": DefaultMemberRoleName, "AllowedPattern": `^[\w+=,.@-]{1,64}$`,
			},
			MemberRoleRegionParameter: map[string]any{
				"Description": "The one region where the read role is created (IAM is global; a StackSet deploys to every region)",
				"Type":        "String", "Default": "us-east-1", "AllowedPattern": catalog.RegionPattern(),
			},
		},
		"Conditions": map[string]any{
			"CreateReadRole": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, map[string]any{"Ref": MemberRoleRegionParameter}}},
			// The exporter's own account has the main rules already: its
			// events must not be forwarded to its own bus.
			forwarding: map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{
				map[string]any{"Ref": "AWS::AccountId"}, map[string]any{"Ref": MemberExporterAccountParameter}}}}},
		},
		"Resources": resources,
		"Outputs": map[string]any{
			"ReadRoleArn": map[string]any{
				"Condition":   "CreateReadRole",
				"Description": "The role to name in the exporter's config (aws.accounts[].role_arn), or by name in aws.organization.member_role_name",
				"Value":       map[string]any{"Fn::GetAtt": []any{"ReadRole", "Arn"}},
			},
		},
	}
	out, err := yaml.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("marshal member-account template: %w", err)
	}
	return out, nil
}
