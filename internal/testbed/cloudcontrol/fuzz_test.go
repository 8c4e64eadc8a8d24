package cloudcontrol_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// FuzzServeHTTP sends arbitrary bodies and targets: every answer must be an
// AWS JSON 1.0 document, an error with __type unless the status is 200.
func FuzzServeHTTP(f *testing.F) {
	f.Add("ListResources", `{"TypeName":"AWS::EKS::Nodegroup","ResourceModel":"{\"ClusterName\":\"main\"}"}`)
	f.Add("ListResources", `{"TypeName":"AWS::Lambda::Function","MaxResults":3,"NextToken":"x"}`)
	f.Add("GetResource", `{"TypeName":"AWS::Lambda::Function","Identifier":"fn"}`)
	f.Add("GetResource", `{"TypeName":1}`)
	e := cloudcontrol.New()
	e.SetType("AWS::EKS::Nodegroup", cloudcontrol.TypeConfig{RequiredModelProperties: []string{"ClusterName"}})
	if err := e.Put("eu-west-1", "AWS::Lambda::Function", "fn", map[string]any{"FunctionName": "fn"}); err != nil {
		f.Fatal(err)
	}
	if err := e.Put("eu-west-1", "AWS::EKS::Nodegroup", "main/a", map[string]any{"ClusterName": "main"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/cloudcontrolapi/aws4_request, SignedHeaders=host, Signature=0")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "CloudApiService."+op)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("HTTP %d answer is not a JSON object: %q", rec.Code, rec.Body.String())
		}
		if rec.Code != http.StatusOK && doc["__type"] == nil {
			t.Errorf("HTTP %d without __type: %v", rec.Code, doc)
		}
	})
}
