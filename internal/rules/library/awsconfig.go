package library

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// AWS Config sends a "Config Configuration Item Change" event to the default
// event bus of the account and region it records in, for every change of a
// recorded resource type, whatever API (or console, or service) made it. One
// rule on those events covers every kind the config maps, including changes
// no CloudTrail rule names; it complements the CloudTrail rules rather than
// replacing them: Config delivers on a best-effort basis, minutes rather than
// seconds later, and only for the types its recorder records.
//
// A configuration item names the resource three ways: resourceId (the
// identifier the service assigns: i-…, sg-…, a role's AROA… id, an RDS
// instance's db-… resource id), resourceName (the name its owner gave it)
// and ARN. Which one is the Cloud Control identifier depends on the type;
// configIdentifier says it per library kind, and configUnsupported says why
// the rest are left out. The message names the resource by that field only
// (identifier, as the seed's messages do): for a delete the exporter leads it
// to the entity (internal/identity builds an ARN-named entity's identifier)
// and deletes it once AWS proves the resource gone, as for any event.

// ConfigDetailType is the detail-type of AWS Config's configuration item events.
const ConfigDetailType = "Config Configuration Item Change"

// Configuration item fields a message can name a resource by.
const (
	configResourceID   = "resourceId"
	configResourceName = "resourceName"
	configARN          = "arn"
)

// configIdentifier is, per type, the configuration item field that equals the
// Cloud Control identifier (the schema's primary identifier): resourceName
// for types whose identifier is the owner's name, resourceId for types whose
// identifier the service assigns, the ARN for types identified by their ARN.
var configIdentifier = map[string]string{
	"AWS::ApiGateway::RestApi":                  configResourceID,   // RestApiId
	"AWS::ApiGatewayV2::Api":                    configResourceID,   // ApiId
	"AWS::AutoScaling::AutoScalingGroup":        configResourceName, // AutoScalingGroupName
	"AWS::CloudFormation::Stack":                configARN,          // StackId is the stack's ARN
	"AWS::CloudFront::Distribution":             configResourceID,   // Id
	"AWS::DynamoDB::Table":                      configResourceName, // TableName
	"AWS::EC2::Instance":                        configResourceID,   // InstanceId
	"AWS::EC2::SecurityGroup":                   configResourceID,   // Id (sg-…)
	"AWS::EC2::Subnet":                          configResourceID,   // SubnetId
	"AWS::EC2::VPC":                             configResourceID,   // VpcId
	"AWS::ECR::Repository":                      configResourceName, // RepositoryName
	"AWS::ECS::Cluster":                         configResourceName, // ClusterName
	"AWS::EFS::FileSystem":                      configResourceID,   // FileSystemId
	"AWS::EKS::Cluster":                         configResourceName, // Name
	"AWS::ElasticLoadBalancingV2::LoadBalancer": configARN,          // LoadBalancerArn
	"AWS::ElasticLoadBalancingV2::TargetGroup":  configARN,          // TargetGroupArn
	"AWS::IAM::Role":                            configResourceName, // RoleName (resourceId is the AROA… id)
	"AWS::Kinesis::Stream":                      configResourceName, // Name
	"AWS::KMS::Key":                             configResourceID,   // KeyId
	"AWS::Lambda::Function":                     configResourceName, // FunctionName
	"AWS::Logs::LogGroup":                       configResourceName, // LogGroupName
	"AWS::RDS::DBCluster":                       configResourceName, // DBClusterIdentifier (resourceId is cluster-…)
	"AWS::RDS::DBInstance":                      configResourceName, // DBInstanceIdentifier (resourceId is db-…)
	"AWS::S3::Bucket":                           configResourceName, // BucketName
	"AWS::SNS::Topic":                           configARN,          // TopicArn
	"AWS::StepFunctions::StateMachine":          configARN,          // Arn
}

// configUnsupported are the library kinds the Config rule leaves to their
// CloudTrail rules, and why.
var configUnsupported = map[string]string{
	"AWS::ECS::Service": "its Cloud Control identifier is the service ARN and the cluster joined with |, which a configuration item " +
		"does not hold as one field (the cluster is only inside the configuration)",
	"AWS::SQS::Queue": "its Cloud Control identifier is the queue URL, which a configuration item does not carry; building it from the " +
		"name would have to guess the endpoint's form (sqs.<region>.amazonaws.com, the legacy <region>.queue.amazonaws.com, the China domain)",
	"AWS::ElastiCache::CacheCluster": "not verified which configuration item field holds the CacheClusterId",
}

// ConfigCovered splits kinds into those the Config rule covers and those it
// leaves out, with the reason.
func ConfigCovered(kinds []Kind) (covered []Kind, left map[string]string) {
	left = map[string]string{}
	for _, k := range kinds {
		if _, ok := configIdentifier[k.Type]; ok {
			covered = append(covered, k)
			continue
		}
		why, ok := configUnsupported[k.Type]
		if !ok {
			why = "no configuration item field is known to hold its Cloud Control identifier"
		}
		left[k.Type] = why
	}
	return covered, left
}

// ConfigFileName is the Config rules template's name beside the main one:
// port-aws-exporter-rules.yaml gives port-aws-exporter-rules.aws-config.yaml.
func ConfigFileName(main string) string {
	return strings.TrimSuffix(main, ".yaml") + ".aws-config.yaml"
}

// configItem is where a configuration item is in the event: the item itself,
// or its summary when the item is too large for an event (Config then sends
// an OversizedConfigurationItemChangeNotification with the summary).
type configItem struct {
	logicalID, name, messageType, path string
}

var configItems = []configItem{
	{"AWSConfigItemEventRule", "port-aws-exporter-sync-aws-config", "ConfigurationItemChangeNotification", "configurationItem"},
	{"AWSConfigOversizedItemEventRule", "port-aws-exporter-sync-aws-config-oversized", "OversizedConfigurationItemChangeNotification", "configurationItemSummary"},
}

// pattern is the event pattern of the rule of this item: Config's
// change events of this message type whose item has one of the types.
func (c configItem) pattern(types []string) map[string]any {
	list := make([]any, len(types))
	for i, t := range types {
		list[i] = t
	}
	return map[string]any{
		"source":      []any{"aws.config"},
		"detail-type": []any{ConfigDetailType},
		"detail": map[string]any{
			"messageType": []any{c.messageType},
			c.path:        map[string]any{"resourceType": list},
		},
	}
}

// ConfigInputTransformer turns a configuration item (or its summary, item
// names which) into the seed's message: resource_type from the item, the
// region (Config says "global" for IAM's items: the library reads global
// services' kinds as us-east-1's), the account, the action from the item's
// status, and the identifier from the field configIdentifier names for the
// type. Every value sits outside quotes (see InputTransformer): Config sets
// them, but a resource name is its owner's choice.
func ConfigInputTransformer(types []string, item string) InputTransformer {
	base := "$.detail." + item + "."
	paths := map[string]string{
		"resourceType":   base + "resourceType",
		configResourceID: base + "resourceId",
		// An item's name and ARN are optional: a missing path renders as null.
		configResourceName: base + "resourceName",
		configARN:          base + "ARN",
		"status":           base + "configurationItemStatus",
		"awsRegion":        base + "awsRegion",
		"awsAccountId":     base + "awsAccountId",
	}
	fields := []messageField{
		{key: "resource_type", placeholder: "resourceType"},
		{key: "region", value: `if .awsRegion == "global" then "us-east-1" else .awsRegion end`},
		{key: "account_id", value: ".awsAccountId"},
		{key: "action", value: `if .status == "ResourceDeleted" or .status == "ResourceDeletedNotRecorded" then "delete" else "upsert" end`},
		{key: "identifier", value: configIdentifierExpr(types)},
	}
	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fields = append(fields, messageField{key: name, placeholder: name})
	}
	return InputTransformer{InputPathsMap: paths, InputTemplate: renderTemplate(fields)}
}

// configIdentifierExpr is jq picking, by the message's resource_type, the
// field that holds its Cloud Control identifier: an object from type to
// field, indexed (message expressions allow no function calls such as any).
func configIdentifierExpr(types []string) string {
	sorted := append([]string(nil), types...)
	sort.Strings(sorted)
	var b strings.Builder
	b.WriteString("{")
	for i, t := range sorted {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: .%s", marshalNoEscape(t), configIdentifier[t])
	}
	b.WriteString(`}[.resource_type] // ""`)
	return b.String()
}

// ConfigTemplate renders the CloudFormation template of the two Config
// rules for the kinds it covers, with the same target and parameter as the
// main rules template. It errs when it covers none of them.
func ConfigTemplate(kinds []Kind) ([]byte, error) {
	covered, _ := ConfigCovered(kinds)
	if len(covered) == 0 {
		return nil, fmt.Errorf("AWS Config rule: none of the kinds is covered (%s)", strings.Join(kindTypes(kinds), ", "))
	}
	types := kindTypes(covered)
	resources := map[string]any{}
	for _, c := range configItems {
		resources[c.logicalID] = map[string]any{
			"Type": "AWS::Events::Rule",
			"Properties": map[string]any{
				"Name": c.name,
				"Description": fmt.Sprintf("Sends AWS Config's changes (%s) of %d kinds to the Port AWS exporter's queue",
					c.messageType, len(types)),
				"EventBusName": "default",
				"State":        "ENABLED",
				"EventPattern": c.pattern(types),
				"Targets":      queueTargets(ConfigInputTransformer(types, c.path)),
			},
		}
	}
	template := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description": "Rules that send AWS Config's configuration item changes of the selected kinds to the Port AWS exporter " +
			"(generated by port-aws-exporter rules generate --aws-config). They complement the CloudTrail rules: Config is " +
			"best effort and sees only the types its recorder records.",
		"Parameters": stackNameParameters(),
		"Resources":  resources,
	}
	out, err := yaml.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("marshal AWS Config rules template: %w", err)
	}
	return out, nil
}

func kindTypes(kinds []Kind) []string {
	types := make([]string, 0, len(kinds))
	for _, k := range kinds {
		types = append(types, k.Type)
	}
	sort.Strings(types)
	return types
}
