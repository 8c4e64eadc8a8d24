package catalog

// Reader is a way the exporter reads a kind other than Cloud Control.
type Reader struct {
	// Name is the reader: "describe" (the service's own Describe/List APIs,
	// as Port's original exporter read these kinds) or "accountinfo" (the
	// account and organization readers of Ocean's special kinds).
	Name string
	// Permissions are the read-only IAM actions the reader calls.
	Permissions []string
}

// otherReaders are the kinds read by a reader other than Cloud Control. The
// readers live in internal/source (describe, accountinfo); this table is what
// validation and IAM policies consult, so that both agree with the readers
// without importing them. Keep it in step when a reader is added or its calls
// change.
var otherReaders = map[string]Reader{
	// Port's original exporter read these five through their Describe APIs.
	"AWS::EC2::Instance": {Name: "describe", Permissions: []string{"ec2:DescribeInstances"}},
	"AWS::ElasticLoadBalancingV2::LoadBalancer": {Name: "describe", Permissions: []string{
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"}},
	"AWS::ACM::Certificate": {Name: "describe", Permissions: []string{
		"acm:ListCertificates", "acm:DescribeCertificate", "acm:ListTagsForCertificate"}},
	"AWS::CloudFormation::Stack":     {Name: "describe", Permissions: []string{"cloudformation:DescribeStacks"}},
	"AWS::ElastiCache::CacheCluster": {Name: "describe", Permissions: []string{"elasticache:DescribeCacheClusters"}},
	// Ocean's special kinds.
	"AWS::Account::Info": {Name: "accountinfo", Permissions: []string{
		"account:GetAccountInformation", "account:GetContactInformation", "sts:GetCallerIdentity"}},
	"AWS::Organizations::Account": {Name: "accountinfo", Permissions: []string{
		"organizations:ListAccounts", "organizations:ListTagsForResource", "organizations:ListParents"}},
}

// OtherReader returns the reader other than Cloud Control that can read a
// kind, if any.
func OtherReader(kind string) (Reader, bool) {
	r, ok := otherReaders[kind]
	if ok {
		r.Permissions = append([]string(nil), r.Permissions...)
	}
	return r, ok
}

// OtherReaderKinds lists the kinds of OtherReader, sorted.
func OtherReaderKinds() []string {
	out := make([]string, 0, len(otherReaders))
	for k := range otherReaders {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
