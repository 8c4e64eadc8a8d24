package cloudcontrol_test

import (
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

func FuzzRegionFromAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/cloudcontrolapi/aws4_request, SignedHeaders=host, Signature=abc")
	f.Add("Credential=////")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		region, err := cloudcontrol.RegionFromAuthorization(header)
		if err != nil {
			return
		}
		if region == "" || strings.Contains(region, "/") {
			t.Errorf("region %q from %q", region, header)
		}
	})
}

func FuzzParseFixture(f *testing.F) {
	f.Add([]byte(`{"resources":[{"region":"r","type":"T","identifier":"i","properties":{"a":1}}]}`))
	f.Add([]byte(`{"types":{"T":{"listProperties":["a"]}},"resources":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := cloudcontrol.ParseFixture(data)
		if err != nil {
			return
		}
		if _, err := cloudcontrol.NewFromFixture(fx); err != nil {
			t.Errorf("parsed fixture does not load: %v", err)
		}
	})
}
