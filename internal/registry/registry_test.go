package registry

import (
	"strings"
	"testing"
)

func TestUserAgentRoundTrip(t *testing.T) {
	o := Owner{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::ECS::Service"}
	ua := o.UserAgent()
	if ua != "port-aws-exporter/2 (accountid/123456789012 region/eu-west-1 kind/AWS::ECS::Service)" {
		t.Fatalf("UserAgent() = %q", ua)
	}
	got, ok := ParseDatasource(ua)
	if !ok || got != o {
		t.Fatalf("ParseDatasource(%q) = %+v, %v", ua, got, ok)
	}
}

func TestParseDatasourceRejectsOthers(t *testing.T) {
	for _, ds := range []string{
		"",
		"port-aws-exporter/0.1 (accountid/123 region/eu-west-1)",
		"port-aws-exporter/2 (accountid/123 region/eu-west-1 kind/AWS::S3::Bucket) extra",
		"Port UI",
		"terraform-provider-port/2.0",
	} {
		if o, ok := ParseDatasource(ds); ok {
			t.Errorf("ParseDatasource(%q) claimed ownership: %+v", ds, o)
		}
	}
}

func TestTokensDoNotOverlap(t *testing.T) {
	vpc := Owner{"1", "us-east-1", "AWS::EC2::VPC"}.Token()
	endpoint := Owner{"1", "us-east-1", "AWS::EC2::VPCEndpoint"}.UserAgent()
	if strings.Contains(endpoint, vpc) {
		t.Fatalf("token %q is contained in %q", vpc, endpoint)
	}
}
