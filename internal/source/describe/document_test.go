package describe

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"go.yaml.in/yaml/v3"
)

// unionMemberS stands for an SDK union member type (types.FooMemberS).
type unionMemberS struct{ Value string }

// minDocumentCases is the size of the table below when it was written.
const minDocumentCases = 9

// The document has the API's member names as keys, no key for what AWS did
// not send (nil pointers, nil lists, empty enums), RFC 3339 timestamps with
// Python's microseconds, and the members real AWS sends that moto does not
// (PlatformDetails, Scheme, EngineVersion, ...) under the names Port's
// published mappings read.
func TestDocumentOfSDKItems(t *testing.T) {
	launch := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	cases := []struct {
		name string
		item any
		want map[string]any
	}{
		{"instance as the EC2 mapping reads it", ec2types.Instance{
			InstanceId: aws.String("i-1"), InstanceType: ec2types.InstanceTypeT3Micro, Architecture: ec2types.ArchitectureValuesArm64,
			State:           &ec2types.InstanceState{Code: aws.Int32(16), Name: ec2types.InstanceStateNameRunning},
			Placement:       &ec2types.Placement{AvailabilityZone: aws.String("eu-west-1b")},
			PlatformDetails: aws.String("Linux/UNIX"), LaunchTime: &launch, VpcId: aws.String("vpc-1"),
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}},
		}, map[string]any{
			"InstanceId": "i-1", "InstanceType": "t3.micro", "Architecture": "arm64",
			"State": map[string]any{"Code": 16, "Name": "running"}, "Placement": map[string]any{"AvailabilityZone": "eu-west-1b"},
			"PlatformDetails": "Linux/UNIX", "LaunchTime": "2024-05-06T07:08:09+00:00", "VpcId": "vpc-1",
			"Tags": []any{map[string]any{"Key": "Name", "Value": "web"}},
		}},
		{"nothing sent, nothing written", ec2types.Instance{}, map[string]any{}},
		{"an empty list AWS sent stays", ec2types.Instance{ProductCodes: []ec2types.ProductCode{}}, map[string]any{"ProductCodes": []any{}}},
		{"an empty string AWS sent stays", ec2types.StateReason{Code: aws.String(""), Message: aws.String("")}, map[string]any{"Code": "", "Message": ""}},
		{"load balancer scheme and state", elbtypes.LoadBalancer{
			LoadBalancerName: aws.String("web"), Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, DNSName: aws.String("web.elb"),
			State: &elbtypes.LoadBalancerState{Code: elbtypes.LoadBalancerStateEnumActive}, SecurityGroups: []string{"sg-1"},
		}, map[string]any{
			"LoadBalancerName": "web", "Scheme": "internet-facing", "DNSName": "web.elb",
			"State": map[string]any{"Code": "active"}, "SecurityGroups": []any{"sg-1"},
		}},
		{"cache cluster members moto leaves out", ectypes.CacheCluster{
			CacheClusterId: aws.String("c1"), EngineVersion: aws.String("7.1"), PreferredAvailabilityZone: aws.String("eu-west-1a"),
			TransitEncryptionEnabled: aws.Bool(true), AtRestEncryptionEnabled: aws.Bool(false), CacheSubnetGroupName: aws.String("default"),
			CacheSecurityGroups:    []ectypes.CacheSecurityGroupMembership{{CacheSecurityGroupName: aws.String("sg"), Status: aws.String("active")}},
			CacheClusterCreateTime: &created, NumCacheNodes: aws.Int32(2),
		}, map[string]any{
			"CacheClusterId": "c1", "EngineVersion": "7.1", "PreferredAvailabilityZone": "eu-west-1a",
			"TransitEncryptionEnabled": true, "AtRestEncryptionEnabled": false, "CacheSubnetGroupName": "default",
			"CacheSecurityGroups":    []any{map[string]any{"CacheSecurityGroupName": "sg", "Status": "active"}},
			"CacheClusterCreateTime": "2024-05-06T05:08:09.123456+00:00", "NumCacheNodes": 2,
		}},
		{"maps keep their keys", struct{ Attributes map[string]string }{map[string]string{"a": "1"}}, map[string]any{"Attributes": map[string]any{"a": "1"}}},
		{"blobs as Python wrote bytes", struct{ Data []byte }{[]byte("a'b\x00")}, map[string]any{"Data": `b"a'b\x00"`}},
		{"a union member as boto3 gives it", struct{ Value any }{unionMemberS{Value: "x"}}, map[string]any{"Value": map[string]any{"S": "x"}}},
	}
	if len(cases) < minDocumentCases {
		t.Fatalf("%d cases, want at least %d", len(cases), minDocumentCases)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := document(tc.item); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("document:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// A JSON template is YAML text of the same values (as the original wrote
// boto3's decoded template); YAML, or anything that is not a JSON object,
// stays as it is.
func TestTemplateBody(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 5}}}, "Description": "q"}`,
			"Description: q\nResources:\n  Q:\n    Properties:\n      DelaySeconds: 5\n    Type: AWS::SQS::Queue\n"},
		{"Resources:\n  T:\n    Type: AWS::SNS::Topic\n", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"},
		{`{"a": 1} trailing`, `{"a": 1} trailing`},
	} {
		got, ok := templateBody(&c.in)
		if !ok || got != c.want {
			t.Errorf("templateBody(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if _, ok := templateBody(nil); ok {
		t.Error("templateBody(nil) is present")
	}
}

// FuzzTemplateBody: whatever GetTemplate answers, TemplateBody is either the
// text itself or, for a JSON object, YAML holding the same values.
func FuzzTemplateBody(f *testing.F) {
	for _, s := range []string{`{"Resources": {}}`, "Resources: {}\n", `[1, 2]`, `"s"`, `{"a": [1, 2.5, null, true, {"b": "x: y"}]}`, `{"a": 1}{"b": 2}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := templateBody(&body)
		if !ok {
			t.Fatal("absent")
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(body), &obj); err != nil || obj == nil {
			if s, isString := got.(string); isString && s != body {
				// Not an object: the text, or (a JSON scalar or array) its value.
				var v any
				if json.Unmarshal([]byte(body), &v) != nil {
					t.Fatalf("non-JSON %q became %q", body, s)
				}
			}
			return
		}
		text, isString := got.(string)
		if !isString {
			t.Fatalf("JSON object %q gave %T", body, got)
		}
		var back any
		if err := yaml.Unmarshal([]byte(text), &back); err != nil {
			t.Fatalf("JSON object %q gave YAML that does not parse: %v\n%s", body, err, text)
		}
		want, _ := json.Marshal(obj)
		have, err := json.Marshal(back)
		if err != nil || !jsonEqual(want, have) {
			t.Fatalf("JSON object %q and its YAML differ:\n%s\n%s", body, want, have)
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
