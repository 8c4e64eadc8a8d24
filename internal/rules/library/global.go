package library

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

// Global services (IAM, CloudFront, Route 53, Organizations, Global
// Accelerator: internal/catalog's GlobalService) record their CloudTrail
// events in one region only. A rule in the exporter's region never sees them
// unless they are forwarded there: the rules of those kinds also go into a
// forwarding template per event region, deployed in that region, whose rules
// send the events to the default event bus of the exporter's region. There
// the main template's rules (every kind's, these included) match the
// forwarded events and send them to the queue as usual. A forwarded event
// keeps its region (us-east-1), so the message names us-east-1: such kinds
// are read and owned as us-east-1's (config validate warns otherwise).

// ExporterRegionParameter names, in a forwarding template, the region of the
// exporter's stack, whose default event bus receives the forwarded events.
const ExporterRegionParameter = "ExporterRegion"

// ForwardTargetID is the id of the exporter region's event bus in a
// forwarding rule's targets.
const ForwardTargetID = "PortAWSExporterRegionEventBus"

// GlobalKinds groups the kinds of global services by the region their events
// arrive in; regional kinds are left out.
func GlobalKinds(kinds []Kind) map[string][]Kind {
	out := map[string][]Kind{}
	for _, k := range kinds {
		if g, ok := catalog.GlobalService(k.Type); ok {
			out[g.EventRegion] = append(out[g.EventRegion], k)
		}
	}
	return out
}

// ForwardingFile is a forwarding template and the region to deploy it in.
type ForwardingFile struct {
	Region string
	Kinds  []Kind
	Data   []byte
}

// ForwardingFileName is the name of the forwarding template for region,
// beside the main one: port-aws-exporter-rules.yaml gives
// port-aws-exporter-rules.us-east-1.yaml.
func ForwardingFileName(main, region string) string {
	base := strings.TrimSuffix(main, ".yaml")
	return base + "." + region + ".yaml"
}

// ForwardingTemplates renders, for each region where some of the kinds'
// events arrive, a CloudFormation template that forwards them to the
// exporter's region; none when no kind is a global service's. Sorted by region.
func ForwardingTemplates(kinds []Kind) ([]ForwardingFile, error) {
	groups := GlobalKinds(kinds)
	regions := make([]string, 0, len(groups))
	for r := range groups {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out []ForwardingFile
	for _, region := range regions {
		data, err := forwardingTemplate(region, groups[region])
		if err != nil {
			return nil, err
		}
		out = append(out, ForwardingFile{Region: region, Kinds: groups[region], Data: data})
	}
	return out, nil
}

func forwardingTemplate(region string, kinds []Kind) ([]byte, error) {
	services := serviceNames(kinds)
	bus := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${" + ExporterRegionParameter + "}:${AWS::AccountId}:event-bus/default"}
	resources := map[string]any{
		"ForwardingRole": map[string]any{
			"Type": "AWS::IAM::Role",
			"Properties": map[string]any{
				"Description": "Lets EventBridge forward the Port AWS exporter's events of global services to the exporter's region",
				"AssumeRolePolicyDocument": map[string]any{
					"Version": "2012-10-17",
					"Statement": []any{map[string]any{
						"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
					}},
				},
				"Policies": []any{map[string]any{
					"PolicyName": "put-events-to-the-exporters-region",
					"PolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus,
						}},
					},
				}},
			},
		},
	}
	for _, k := range kinds {
		id := strings.TrimSuffix(k.LogicalID(), "EventRule") + "ForwardRule"
		if _, dup := resources[id]; dup {
			return nil, fmt.Errorf("two kinds render to logical id %s", id)
		}
		resources[id] = map[string]any{
			"Type": "AWS::Events::Rule",
			"Properties": map[string]any{
				"Name":         k.RuleName() + "-forward",
				"Description":  fmt.Sprintf("Forwards changes of %s (recorded in %s) to the Port AWS exporter's region", k.Type, region),
				"EventBusName": "default",
				"State":        "ENABLED",
				"EventPattern": k.Pattern(),
				"Targets": []any{map[string]any{
					"Id":      ForwardTargetID,
					"Arn":     bus,
					"RoleArn": map[string]any{"Fn::GetAtt": []any{"ForwardingRole", "Arn"}},
				}},
			},
		}
	}
	template := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description": fmt.Sprintf("Forwards the events of %s, which AWS records in %s only, to the default event bus of the Port AWS exporter's region, "+
			"where the main rules template sends them to the exporter (generated by port-aws-exporter rules generate). Deploy it in %s, "+
			"unless the exporter runs there.", services, region, region),
		"Parameters": map[string]any{
			ExporterRegionParameter: map[string]any{
				"Description":    "Region of the Port AWS exporter's stack and of the main rules template",
				"Type":           "String",
				"AllowedPattern": catalog.RegionPattern(),
			},
		},
		"Rules": map[string]any{
			"DeployedWhereTheEventsArrive": map[string]any{
				"Assertions": []any{map[string]any{
					"Assert":            map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, region}},
					"AssertDescription": fmt.Sprintf("%s %s their events in %s: deploy this template in %s.", services, recordVerb(kinds), region, region),
				}},
			},
			"NotTheExportersRegion": map[string]any{
				"Assertions": []any{map[string]any{
					"Assert": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{
						map[string]any{"Ref": ExporterRegionParameter}, map[string]any{"Ref": "AWS::Region"}}}}},
					"AssertDescription": fmt.Sprintf("The exporter runs in %s: the main rules template there already receives these events; this one would forward them to itself.", region),
				}},
			},
		},
		"Resources": resources,
	}
	out, err := yaml.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("marshal forwarding template: %w", err)
	}
	return out, nil
}

// serviceNames is "IAM and CloudFront", from the kinds' types.
func serviceNames(kinds []Kind) string {
	seen := map[string]bool{}
	var names []string
	for _, k := range kinds {
		if g, ok := catalog.GlobalService(k.Type); ok && !seen[g.Service] {
			seen[g.Service] = true
			names = append(names, g.Service)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// ForwardingDirName is the directory of the Terraform forwarding module for
// region, beside the directory of the main rules file: a module of its own,
// since every .tf file of a directory belongs to one module and these
// resources live in another region (the caller gives it a provider there).
func ForwardingDirName(region string) string { return "port-aws-exporter-forwarding-" + region }

// ForwardingModuleFile is the file name inside ForwardingDirName.
const ForwardingModuleFile = "main.tf"

// TerraformForwarding is the Terraform counterpart of ForwardingTemplates: per
// event region, a module to instantiate with a provider of that region
// (providers = { aws = aws.us_east_1 }) and the exporter's region as
// variable "exporter_region"; it creates nothing when the two regions are the
// same (the main rules receive the events there).
func TerraformForwarding(kinds []Kind) ([]ForwardingFile, error) {
	groups := GlobalKinds(kinds)
	regions := make([]string, 0, len(groups))
	for r := range groups {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out []ForwardingFile
	for _, region := range regions {
		data, err := terraformForwardingModule(region, groups[region])
		if err != nil {
			return nil, err
		}
		out = append(out, ForwardingFile{Region: region, Kinds: groups[region], Data: data})
	}
	return out, nil
}

// ExporterRegionVariable is the forwarding module's variable naming the
// exporter's region.
const ExporterRegionVariable = "exporter_region"

func terraformForwardingModule(region string, kinds []Kind) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(rawTokens(fmt.Sprintf("# %s %s their events in %s only. This module, given a provider of %s\n"+
		"# (providers = { aws = aws.%s }), forwards them to the default event bus of the exporter's region,\n"+
		"# where the main rules send them to the exporter. Generated by port-aws-exporter rules generate.\n",
		serviceNames(kinds), recordVerb(kinds), region, region, ProviderAlias(region))))
	v := body.AppendNewBlock("variable", []string{ExporterRegionVariable}).Body()
	v.SetAttributeTraversal("type", hcl.Traversal{hcl.TraverseRoot{Name: "string"}})
	v.SetAttributeValue("description", cty.StringVal("Region of the Port AWS exporter and of its main event rules"))
	val := v.AppendNewBlock("validation", nil).Body()
	val.SetAttributeRaw("condition", rawTokens(fmt.Sprintf("can(regex(%q, var.%s))", catalog.RegionPattern(), ExporterRegionVariable)))
	val.SetAttributeValue("error_message", cty.StringVal("exporter_region must be an AWS region name such as eu-west-1."))
	for _, name := range []string{"aws_region", "aws_caller_identity", "aws_partition"} {
		body.AppendNewline()
		body.AppendNewBlock("data", []string{name, "current"})
	}
	body.AppendNewline()
	locals := body.AppendNewBlock("locals", nil).Body()
	locals.SetAttributeRaw("forward", rawTokens(fmt.Sprintf("var.%s != %q", ExporterRegionVariable, region)))
	locals.SetAttributeRaw("exporter_bus_arn", rawTokens(`"arn:${data.aws_partition.current.partition}:events:${var.`+ExporterRegionVariable+`}:${data.aws_caller_identity.current.account_id}:event-bus/default"`))

	// The provider must be in the region the events arrive in.
	body.AppendNewline()
	check := body.AppendNewBlock("check", []string{"deployed_where_the_events_arrive"}).Body()
	as := check.AppendNewBlock("assert", nil).Body()
	as.SetAttributeRaw("condition", rawTokens(fmt.Sprintf("data.aws_region.current.name == %q", region)))
	as.SetAttributeValue("error_message", cty.StringVal(fmt.Sprintf("%s %s their events in %s: give this module a provider of %s.", serviceNames(kinds), recordVerb(kinds), region, region)))

	count := rawTokens("local.forward ? 1 : 0")
	body.AppendNewline()
	role := body.AppendNewBlock("resource", []string{"aws_iam_role", "forward"}).Body()
	role.SetAttributeRaw("count", count)
	role.SetAttributeValue("name_prefix", cty.StringVal("port-aws-exporter-fwd-"))
	role.SetAttributeValue("description", cty.StringVal("Lets EventBridge forward the Port AWS exporter's events of global services to the exporter's region"))
	role.SetAttributeRaw("assume_role_policy", rawTokens(`jsonencode({
  Version   = "2012-10-17"
  Statement = [{ Effect = "Allow", Principal = { Service = "events.amazonaws.com" }, Action = "sts:AssumeRole" }]
})`))
	body.AppendNewline()
	pol := body.AppendNewBlock("resource", []string{"aws_iam_role_policy", "forward"}).Body()
	pol.SetAttributeRaw("count", count)
	pol.SetAttributeValue("name", cty.StringVal("put-events-to-the-exporters-region"))
	pol.SetAttributeRaw("role", rawTokens("aws_iam_role.forward[0].id"))
	pol.SetAttributeRaw("policy", rawTokens(`jsonencode({
  Version   = "2012-10-17"
  Statement = [{ Effect = "Allow", Action = "events:PutEvents", Resource = local.exporter_bus_arn }]
})`))
	for _, k := range kinds {
		pattern, err := patternValue(k.Pattern())
		if err != nil {
			return nil, fmt.Errorf("pattern of %s: %w", k.Type, err)
		}
		name := k.TerraformName()
		body.AppendNewline()
		rule := body.AppendNewBlock("resource", []string{"aws_cloudwatch_event_rule", name}).Body()
		rule.SetAttributeRaw("count", count)
		rule.SetAttributeValue("name", cty.StringVal(k.RuleName()+"-forward"))
		rule.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("Forwards changes of %s (recorded in %s) to the Port AWS exporter's region", k.Type, region)))
		rule.SetAttributeValue("event_bus_name", cty.StringVal("default"))
		rule.SetAttributeRaw("event_pattern", hclwrite.TokensForFunctionCall("jsonencode", hclwrite.TokensForValue(pattern)))

		body.AppendNewline()
		target := body.AppendNewBlock("resource", []string{"aws_cloudwatch_event_target", name}).Body()
		target.SetAttributeRaw("count", count)
		target.SetAttributeRaw("rule", rawTokens("aws_cloudwatch_event_rule."+name+"[0].name"))
		target.SetAttributeValue("event_bus_name", cty.StringVal("default"))
		target.SetAttributeValue("target_id", cty.StringVal(ForwardTargetID))
		target.SetAttributeRaw("arn", rawTokens("local.exporter_bus_arn"))
		target.SetAttributeRaw("role_arn", rawTokens("aws_iam_role.forward[0].arn"))
	}
	return hclwrite.Format(f.Bytes()), nil
}

// ProviderAlias is the conventional Terraform provider alias of a region.
func ProviderAlias(region string) string { return strings.ReplaceAll(region, "-", "_") }

// recordVerb agrees with serviceNames: "IAM records", "IAM and CloudFront record".
func recordVerb(kinds []Kind) string {
	if strings.Contains(serviceNames(kinds), " and ") {
		return "record"
	}
	return "records"
}

// rawTokens is HCL source as one token; hclwrite.Format lexes the file again.
func rawTokens(src string) hclwrite.Tokens {
	return hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte(src)}}
}
