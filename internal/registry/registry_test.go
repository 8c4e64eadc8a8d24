package registry

import (
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

func TestUserAgentRoundTrip(t *testing.T) {
	o := source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::ECS::Service"}
	ua := UserAgent(o)
	if ua != "port-aws-exporter/2 (accountid/123456789012 region/eu-west-1 kind/AWS::ECS::Service)" {
		t.Fatalf("UserAgent() = %q", ua)
	}
	got, ok := ParseDatasource(ua)
	if !ok || got.String() != o.String() {
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
	vpc := Token(source.Shard{AccountID: "1", Region: "us-east-1", Kind: "AWS::EC2::VPC"})
	endpoint := UserAgent(source.Shard{AccountID: "1", Region: "us-east-1", Kind: "AWS::EC2::VPCEndpoint"})
	if strings.Contains(endpoint, vpc) {
		t.Fatalf("token %q is contained in %q", vpc, endpoint)
	}
}
