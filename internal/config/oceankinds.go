package config

import "strings"

// Kinds Ocean's AWS integration reads with something other than Cloud
// Control's ListResources and GetResource, and the meta-kind of Ocean's
// cloud integrations.
const (
	KindOrganizationsAccount = "AWS::Organizations::Account"
	KindAccountInfo          = "AWS::Account::Info"
	// KindCloudResource is the meta-kind that expands to one entry per type
	// of selector.resourceKinds (Ocean's Azure integration has it; its AWS
	// integration takes it as a Cloud Control type name, which does not exist).
	KindCloudResource = "cloudResource"
)

// Document values of selector.aws.document: what an entry's jq expressions see.
const (
	// DocumentProperties: the resource's Cloud Control properties, as Port's
	// AWS exporter gave them (the default of config.json).
	DocumentProperties = "properties"
	// DocumentOcean: the document Ocean's AWS integration gives, with Ocean's
	// jq rules (see Layout); every entry of a port-app-config.yml.
	DocumentOcean = "ocean"
)

// Layout is how an Ocean document is built from what the reader read.
type Layout int

const (
	// LayoutWrapped: {"Identifier", "Properties", "__Kind", "__Region",
	// "__AccountId"}, the Cloud Control kinds (utils/resources.py
	// resync_cloudcontrol, with or without GetResource).
	LayoutWrapped Layout = iota
	// LayoutFlat: the service's own answer with "__Kind", "__Region" and
	// "__AccountId" added at its top (resync_custom_kind): the kinds Ocean
	// reads through a Describe or List call.
	LayoutFlat
	// LayoutOwn: the reader's document as it is: the account kinds, whose
	// readers build Ocean's document themselves (internal/source/accountinfo).
	LayoutOwn
)

// oceanKind is what this exporter knows of one kind Ocean reads specially.
type oceanKind struct {
	layout Layout
	// readKind is the Cloud Control type this exporter reads for Ocean's
	// kind name, when Ocean's name is not one ("" when it is).
	readKind string
	// note says how Ocean reads the kind and what differs here, for Validate.
	note string
	// matched is false when this exporter cannot give what Ocean gives.
	matched bool
	// alwaysGet: Ocean reads every resource with GetResource whatever
	// useGetResourceAPI says.
	alwaysGet bool
	// global: one listing per account, in the first allowed region.
	global bool
}

// oceanKinds are Ocean's special kinds (utils/misc.py
// ResourceKindsWithSpecialHandling and main.py's resync functions).
var oceanKinds = map[string]oceanKind{
	KindOrganizationsAccount: {layout: LayoutOwn, matched: true, global: true,
		note: "read with organizations:ListAccounts (the management account or a delegated administrator), each account's document as Ocean gives it"},
	KindAccountInfo: {layout: LayoutOwn, matched: true, global: true,
		note: "one document per account read, {\"Type\", \"Properties\": {\"Id\", \"Name\"}} as Ocean's AWS v3 integration gives it"},
	"AWS::S3::Bucket": {layout: LayoutWrapped, matched: true, alwaysGet: true, global: true},
	"AWS::SQS::Queue": {layout: LayoutWrapped, matched: true, alwaysGet: true},
	"AWS::CloudFormation::Stack": {layout: LayoutFlat, matched: false,
		note: "Ocean maps cloudformation:DescribeStacks answers at the top of the document; this exporter gives Cloud Control's stack " +
			"properties there (StackId, Parameters, Tags, TemplateURL, NotificationARNs, TimeoutInMinutes) and StackName, read from the stack id; " +
			"DescribeStacks-only fields (StackStatus, CreationTime, LastUpdatedTime, Outputs, DriftInformation) map to null"},
	"AWS::ACM::Certificate": {layout: LayoutFlat, matched: false,
		note: "Ocean maps acm:ListCertificates summaries (.CertificateArn, .Status, .Type, .InUse...); this exporter gives Cloud Control's certificate " +
			"properties at the top (.DomainName, .ValidationMethod, .SubjectAlternativeNames), so summary fields that Cloud Control does not return map to null"},
	"AWS::ELBV2::LoadBalancer": {layout: LayoutFlat, readKind: "AWS::ElasticLoadBalancingV2::LoadBalancer", matched: false,
		note: "Ocean maps elasticloadbalancing:DescribeLoadBalancers answers; this exporter reads AWS::ElasticLoadBalancingV2::LoadBalancer through Cloud Control " +
			"and gives its properties at the top (.LoadBalancerArn, .DNSName, .LoadBalancerName, .Scheme, .Type agree; .State, .CreatedTime and " +
			".AvailabilityZones[].ZoneName do not exist there and map to null)"},
	"AWS::ElastiCache::Cluster": {layout: LayoutFlat, readKind: "AWS::ElastiCache::CacheCluster", matched: false,
		note: "Ocean maps elasticache:DescribeCacheClusters answers (.CacheClusterId, .CacheClusterStatus, .ARN); this exporter reads " +
			"AWS::ElastiCache::CacheCluster through Cloud Control and gives its properties at the top (.ClusterName, .CacheNodeType, .Engine, " +
			".NumCacheNodes), so DescribeCacheClusters-only fields map to null"},
	"AWS::ImageBuilder::Image": {layout: LayoutFlat, matched: false,
		note: "Ocean lists the account's own AMIs (ec2:DescribeImages with Owners=self) under this name; this exporter reads the kind through " +
			"Cloud Control, where AWS::ImageBuilder::Image is an EC2 Image Builder image, a different resource (AMIs have no Cloud Control type)"},
	"AWS::ResourceGroups::Group": {layout: LayoutWrapped, matched: true,
		note: "read through Cloud Control, as Ocean does unless selector.listGroupResources is true"},
}

// OceanLayout is how the Ocean document of kind (Ocean's name for it) is
// built.
func OceanLayout(kind string) Layout {
	return oceanKinds[kind].layout
}

// oceanReadKind is the type this exporter reads for Ocean's kind name.
func oceanReadKind(kind string) string {
	if k := oceanKinds[kind].readKind; k != "" {
		return k
	}
	return kind
}

// oceanGlobalServices are the services whose kinds Ocean reads once per
// account, in the first allowed region (utils/resources.py is_global_resource).
var oceanGlobalServices = map[string]bool{
	"cloudfront": true, "route53": true, "waf": true, "waf-regional": true, "iam": true, "organizations": true, "s3": true,
}

// IsOceanGlobal reports whether Ocean reads kind once per account rather
// than in every allowed region.
func IsOceanGlobal(kind string) bool {
	if oceanKinds[kind].global {
		return true
	}
	parts := strings.Split(kind, "::")
	return len(parts) == 3 && oceanGlobalServices[strings.ToLower(parts[1])]
}
