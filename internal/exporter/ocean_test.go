package exporter

import (
	"context"
	"encoding/json"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/source/accountinfo"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// oceanTestdata is where the port-app-configs and blueprints Port published
// for Ocean's AWS integration are kept (SOURCES.md there).
const oceanTestdata = "../config/testdata/ocean"

// oceanBed is the testbed of the Ocean tests: the Cloud Control emulator
// loaded with testdata/ocean-resources.json, the Port double with the
// published blueprints, and moto's Organizations with an organization of
// three accounts (the management account and two created).
type oceanBed struct {
	emu    *cloudcontrol.Emulator
	port   *portapi.Server
	moto   *moto.Server
	orgIDs map[string]string // account name -> id
}

func newOceanBed(t *testing.T, blueprintFiles ...string) *oceanBed {
	t.Helper()
	raw, err := os.ReadFile("testdata/ocean-resources.json")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := cloudcontrol.ParseFixture(raw)
	if err != nil {
		t.Fatal(err)
	}
	emu, err := cloudcontrol.NewFromFixture(fixture)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	for _, f := range blueprintFiles {
		addBlueprints(t, double, filepath.Join(oceanTestdata, f))
	}
	bed := &oceanBed{emu: emu, port: double, moto: moto.Start(t), orgIDs: map[string]string{}}
	org := organizations.NewFromConfig(bed.moto.AWSConfig(t.Context(), "us-east-1"))
	if _, err := org.CreateOrganization(t.Context(), &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dev", "prod"} {
		if _, err := org.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := org.ListAccounts(t.Context(), &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Accounts {
		bed.orgIDs[aws.ToString(a.Name)] = aws.ToString(a.Id)
	}
	// Each service's endpoint as users set it: Cloud Control is the
	// emulator, Organizations moto.
	t.Setenv("AWS_ENDPOINT_URL_CLOUDCONTROL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_ORGANIZATIONS", bed.moto.URL)
	// The S3 buckets' real regions come from S3 (GetBucketLocation): moto
	// has the emulator's buckets, each in the region its domain name says.
	t.Setenv("AWS_ENDPOINT_URL_S3", bed.moto.URL)
	s3c := s3.NewFromConfig(bed.moto.AWSConfig(t.Context(), "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true })
	for name, region := range map[string]string{"ocean-logs-use1": "us-east-1", "ocean-assets-euw1": "eu-west-1"} {
		in := &s3.CreateBucketInput{Bucket: aws.String(name)}
		if region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := s3c.CreateBucket(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	return bed
}

// addBlueprints creates the blueprints of a published blueprints file. The
// published awsAccount blueprint declares status an array of enums while
// the published mapping gives the account's status, a string: Port refuses
// such an entity, so the copy created here declares a string (SOURCES.md).
func addBlueprints(t *testing.T, double *portapi.Server, file string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var bps []map[string]any
	if err := json.Unmarshal(raw, &bps); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, bp := range bps {
		if bp["identifier"] == "awsAccount" {
			props := bp["schema"].(map[string]any)["properties"].(map[string]any)
			props["status"] = map[string]any{"type": "string", "title": "Status", "enum": []any{"ACTIVE", "SUSPENDED", "PENDING_CLOSURE"}}
		}
		data, _ := json.Marshal(bp)
		if err := double.AddBlueprint(data); err != nil {
			t.Fatalf("%s: blueprint %v: %v", file, bp["identifier"], err)
		}
	}
}

// options build the exporter on the bed with a config file.
func (bed *oceanBed) options(t *testing.T, configFile string) Options {
	t.Helper()
	s := valid()
	return Options{
		ConfigLocation: configFile, NeedPort: true, OneShot: true, AccountID: moto.AccountID, Sync: s,
		Port: port.Config{BaseURL: bed.port.URL(), ClientID: bed.port.ClientID(), ClientSecret: bed.port.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion("us-east-1"),
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDTEST", "test", ""))),
		},
	}
}

// sync builds the exporter for configFile and runs one full sync.
func (bed *oceanBed) sync(t *testing.T, configFile string) controller.Report {
	t.Helper()
	b, err := Build(context.Background(), bed.options(t, configFile))
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Controller.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// want is what one entity must hold: every property listed with its value
// (nil: null, for a property Ocean gives null too), nothing else set.
type want struct {
	title      string
	properties map[string]any
	relations  map[string]any
}

// checkEntity compares a landed entity with what Ocean would have sent.
func checkEntity(t *testing.T, double *portapi.Server, blueprint, id string, w want) {
	t.Helper()
	got, ok := double.Entity(blueprint, id)
	if !ok {
		t.Errorf("%s/%s did not land in Port", blueprint, id)
		return
	}
	if got.Title != w.title {
		t.Errorf("%s/%s: title %q, want %q", blueprint, id, got.Title, w.title)
	}
	for name, value := range w.properties {
		v, present := got.Properties[name]
		if !present && value != nil { // a null clears the property: Port keeps none
			t.Errorf("%s/%s: property %s not sent", blueprint, id, name)
			continue
		}
		if !sameJSON(v, value) {
			t.Errorf("%s/%s: property %s = %s, want %s", blueprint, id, name, jsonText(v), jsonText(value))
		}
	}
	for name := range got.Properties {
		if _, listed := w.properties[name]; !listed {
			t.Errorf("%s/%s: property %s = %s is not expected", blueprint, id, name, jsonText(got.Properties[name]))
		}
	}
	for name, value := range w.relations {
		if !sameJSON(got.Relations[name], value) {
			t.Errorf("%s/%s: relation %s = %s, want %s", blueprint, id, name, jsonText(got.Relations[name]), jsonText(value))
		}
	}
}

func sameJSON(a, b any) bool { return jsonText(a) == jsonText(b) }

func jsonText(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

// Ocean's default port-app-config.yml (integrations/aws), unchanged, syncs
// through the real SDK (Cloud Control emulator, moto's Organizations) into
// the Port double with Ocean's own blueprints: every entity Ocean would
// write, property by property. The only nulls are EC2's arn and link: the
// instance's Cloud Control document has no Arn, so Ocean sends null too.
func TestOceanDefaultConfigSyncs(t *testing.T) {
	bed := newOceanBed(t, "blueprints-ocean-aws.json")
	report := bed.sync(t, filepath.Join(oceanTestdata, "ocean-aws-default.yml"))
	if !report.OK() {
		for _, s := range report.Shards {
			t.Errorf("shard %s: %v", s.Shard, s.Errors)
		}
		t.FailNow()
	}
	if len(report.Shards) != 4 {
		t.Fatalf("%d shards, want 4 (accounts, buckets, instances, clusters)", len(report.Shards))
	}
	account := map[string]any{"account": moto.AccountID}
	for name, id := range bed.orgIDs {
		got, ok := bed.port.Entity("awsAccount", id)
		if !ok {
			t.Errorf("account %s (%s) did not land", name, id)
			continue
		}
		p := got.Properties
		if got.Title != name || p["arn"] == nil || p["email"] == nil || p["status"] != "ACTIVE" || p["joined_method"] == nil {
			t.Errorf("account %s: title %q, properties %v", id, got.Title, p)
		}
		// Ocean's mapping turns Python's "2024-01-02 03:04:05.678000+00:00" into RFC 3339.
		if ts, _ := p["joined_timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`).MatchString(ts) {
			t.Errorf("account %s: joined_timestamp %q", id, ts)
		}
	}
	if len(bed.orgIDs) != 3 || len(bed.port.Entities("awsAccount")) != 3 {
		t.Errorf("%d accounts in the organization, %d in Port; want 3 and 3", len(bed.orgIDs), len(bed.port.Entities("awsAccount")))
	}
	checkEntity(t, bed.port, "cloudResource", "ocean-logs-use1", want{title: "ocean-logs-use1", relations: account, properties: map[string]any{
		"kind": "AWS::S3::Bucket", "region": "us-east-1", "arn": "arn:aws:s3:::ocean-logs-use1",
		"tags": []any{map[string]any{"Key": "team", "Value": "platform"}},
		"link": "https://console.aws.amazon.com/go/view?arn=arn:aws:s3:::ocean-logs-use1"}})
	// The bucket's region comes from its regional domain name, not from
	// the region that listed it.
	checkEntity(t, bed.port, "cloudResource", "ocean-assets-euw1", want{title: "ocean-assets-euw1", relations: account, properties: map[string]any{
		"kind": "AWS::S3::Bucket", "region": "eu-west-1", "arn": "arn:aws:s3:::ocean-assets-euw1",
		"tags": []any{map[string]any{"Key": "team", "Value": "web"}, map[string]any{"Key": "env", "Value": "production"}},
		"link": "https://console.aws.amazon.com/go/view?arn=arn:aws:s3:::ocean-assets-euw1"}})
	checkEntity(t, bed.port, "cloudResource", "i-0a1b2c3d4e5f60718", want{title: "i-0a1b2c3d4e5f60718", relations: account, properties: map[string]any{
		"kind": "AWS::EC2::Instance", "region": "us-east-1", "tags": []any{map[string]any{"Key": "Name", "Value": "bastion"}},
		"arn": nil, "link": nil}})
	checkEntity(t, bed.port, "cloudResource", "arn:aws:ecs:us-east-1:123456789012:cluster/payments", want{title: "payments", relations: account, properties: map[string]any{
		"kind": "AWS::ECS::Cluster", "region": "us-east-1", "arn": "arn:aws:ecs:us-east-1:123456789012:cluster/payments",
		"tags": []any{map[string]any{"Key": "team", "Value": "payments"}},
		"link": "https://console.aws.amazon.com/go/view?arn=arn:aws:ecs:us-east-1:123456789012:cluster/payments"}})
	if n := len(bed.port.Entities("cloudResource")); n != 4 {
		t.Errorf("%d cloud resources in Port, want 4", n)
	}
	// Every write carries the shard's ownership token (the kind included).
	if e, _ := bed.port.Entity("cloudResource", "ocean-logs-use1"); !strings.Contains(e.Datasource, "(accountid/123456789012 region/us-east-1 kind/AWS::S3::Bucket)") {
		t.Errorf("datasource %q", e.Datasource)
	}
}

// docsBlueprintFixes are the corrections the test makes to the blueprints of
// Port's documentation for Ocean's AWS integration, whose mappings send what
// the blueprints refuse: properties the blueprint does not define, and
// Cloud Control's string-typed numbers where the blueprint says number. The
// same mappings fail the same way in Ocean; docs/migrate.md lists them.
var docsBlueprintFixes = map[string]map[string]any{
	"lambda":                {"kind": "string", "region": "string"},
	"ecsService":            {"kind": "string", "region": "string", "cluster": "string"},
	"sqs":                   {"kind": "string", "region": "string"},
	"lightsailInstance":     {"tags": "array"},
	"autoScalingGroup":      {"desiredCapacity": "string", "minSize": "string", "maxSize": "string"},
	"rdsInstance":           {"allocatedStorage": "string", "port": "string"},
	"elasticacheServerless": {"port": "string", "readerPort": "string"},
}

// fixDocsBlueprints applies docsBlueprintFixes to a blueprints file, into a
// temporary copy.
func fixDocsBlueprints(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(oceanTestdata, "blueprints-docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bps []map[string]any
	if err := json.Unmarshal(raw, &bps); err != nil {
		t.Fatal(err)
	}
	fixed := 0
	for _, bp := range bps {
		props := bp["schema"].(map[string]any)["properties"].(map[string]any)
		for name, typ := range docsBlueprintFixes[bp["identifier"].(string)] {
			props[name] = map[string]any{"type": typ, "title": name}
			fixed++
		}
	}
	if fixed != 15 {
		t.Fatalf("fixed %d blueprint properties, want 15", fixed)
	}
	out, _ := json.Marshal(bps)
	path := filepath.Join(t.TempDir(), "blueprints-docs-fixed.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const consoleARN = "https://console.aws.amazon.com/go/view?arn="

// docsExpectations are, per example config of Port's documentation for
// Ocean's AWS integration, the entities Ocean would write from
// testdata/ocean-resources.json. A nil property is one Ocean sends as null
// too: its expression does not compile (even after Ocean's quote rewriting),
// or reads a property the Cloud Control document does not have (Port's
// examples read CloudFront's DistributionConfig fields at the top, and
// Cognito, DynamoDB and RDS fields the resource schemas do not have).
var docsExpectations = map[string]map[[2]string]want{
	"docs-aws-examples-application_integration.yml": {
		{"kinesisStream", "clickstream"}: {title: "clickstream", properties: map[string]any{
			"link": consoleARN + "arn:aws:kinesis:us-east-1:123456789012:stream/clickstream", "streamMode": "PROVISIONED", "shardCount": 2,
			"retentionPeriodHours": 24, "shardLevelMetrics": []any{"IncomingBytes", "OutgoingBytes"}, "arn": "arn:aws:kinesis:us-east-1:123456789012:stream/clickstream"}},
		{"snsTopic", "arn:aws:sns:us-east-1:123456789012:order-events"}: {title: "order-events", properties: map[string]any{
			"link": consoleARN + "arn:aws:sns:us-east-1:123456789012:order-events", "arn": "arn:aws:sns:us-east-1:123456789012:order-events",
			"kind": "AWS::SNS::Topic", "region": "us-east-1"}},
	},
	"docs-aws-examples-cloud_resource.yml": {
		{"cloudResource", "ocean-logs-use1"}: {title: "ocean-logs-use1", properties: map[string]any{
			"kind": "AWS::S3::Bucket", "region": "us-east-1", "arn": "arn:aws:s3:::ocean-logs-use1", "link": consoleARN + "arn:aws:s3:::ocean-logs-use1",
			"tags": []any{map[string]any{"Key": "team", "Value": "platform"}}}},
		// The bucket's real region (GetBucketLocation), where Ocean says the region that listed it.
		{"cloudResource", "ocean-assets-euw1"}: {title: "ocean-assets-euw1", properties: map[string]any{
			"kind": "AWS::S3::Bucket", "region": "eu-west-1", "arn": "arn:aws:s3:::ocean-assets-euw1", "link": consoleARN + "arn:aws:s3:::ocean-assets-euw1",
			"tags": []any{map[string]any{"Key": "team", "Value": "web"}, map[string]any{"Key": "env", "Value": "production"}}}},
		// Ocean's quote rewriting makes the published arn expression valid jq; its link does not compile.
		{"cloudResource", "i-0a1b2c3d4e5f60718"}: {title: "i-0a1b2c3d4e5f60718", properties: map[string]any{
			"kind": "AWS::EC2::Instance", "region": "us-east-1", "arn": "arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718",
			"link": nil, "tags": []any{map[string]any{"Key": "Name", "Value": "bastion"}}}},
		{"cloudResource", "payments"}: {title: "payments", properties: map[string]any{
			"kind": "AWS::ECS::Cluster", "region": "us-east-1", "arn": "arn:aws:ecs:us-east-1:123456789012:cluster/payments",
			"link": consoleARN + "arn:aws:ecs:us-east-1:123456789012:cluster/payments", "tags": []any{map[string]any{"Key": "team", "Value": "payments"}}}},
	},
	"docs-aws-examples-compute_resources.yml": {
		{"lambda", "checkout-api"}: {title: "checkout-api", properties: map[string]any{
			"kind": "AWS::Lambda::Function", "region": "us-east-1", "link": consoleARN + "arn:aws:lambda:us-east-1:123456789012:function:checkout-api",
			"description": "Checkout API", "memorySize": 512, "ephemeralStorageSize": 512, "timeout": 30, "runtime": "nodejs22.x", "packageType": "Zip",
			"environment": map[string]any{"Variables": map[string]any{"LOG_LEVEL": "info"}}, "architectures": []any{"arm64"},
			"layers": []any{"arn:aws:lambda:us-east-1:123456789012:layer:otel:3"}, "tags": []any{map[string]any{"Key": "team", "Value": "checkout"}},
			"iamRole": consoleARN + "arn:aws:iam::123456789012:role/checkout-api", "arn": "arn:aws:lambda:us-east-1:123456789012:function:checkout-api"}},
		// The identifier is cut from the compound Cloud Control identifier; .Role is not a key of the document.
		{"ecsService", "api"}: {title: "arn:aws:ecs:us-east-1:123456789012:service/payments/api|arn:aws:ecs:us-east-1:123456789012:cluster/payments", properties: map[string]any{
			"kind": "AWS::ECS::Service", "region": "us-east-1", "link": consoleARN + "arn:aws:ecs:us-east-1:123456789012:service/payments/api",
			"desiredCount": 3, "launchType": "FARGATE", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/payments", "schedulingStrategy": "REPLICA",
			"loadBalancers":  []any{map[string]any{"ContainerName": "api", "ContainerPort": 8080, "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef"}},
			"securityGroups": []any{"sg-0123456789abcdef0"}, "subnets": []any{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"},
			"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:42", "iamRole": nil, "arn": "arn:aws:ecs:us-east-1:123456789012:service/payments/api"}},
		// Read with GetResource although the list gives only QueueUrl (as Ocean does).
		{"sqs", "orders"}: {title: "orders", properties: map[string]any{
			"kind": "AWS::SQS::Queue", "region": "us-east-1", "link": "https://sqs.us-east-1.amazonaws.com/123456789012/orders"}},
		// regionName and ports do not compile; MonthlyTransfer is under Networking in the document.
		{"lightsailInstance", "blog"}: {title: "blog", properties: map[string]any{
			"link": consoleARN + "arn:aws:lightsail:us-east-1:123456789012:Instance/5f3c2a1b-0000-4000-8000-000000000001", "state": "running",
			"blueprintId": "wordpress", "bundleId": "nano_3_0", "arn": "arn:aws:lightsail:us-east-1:123456789012:Instance/5f3c2a1b-0000-4000-8000-000000000001",
			"privateIpAddress": "172.26.0.10", "publicIpAddress": "3.80.0.10", "cpuCount": 2, "ramSize": 1, "regionName": nil,
			"availabilityZone": "us-east-1a", "monthlyTransfer": nil, "ports": nil, "username": "bitnami", "tags": []any{map[string]any{"Key": "site", "Value": "blog"}}}},
		{"elasticBeanstalkApplication", "storefront"}: {title: "storefront", properties: map[string]any{
			"link":            "https://console.aws.amazon.com/elasticbeanstalk/home?region=us-east-1/application/overview?applicationName=storefront",
			"applicationName": "storefront", "maxAgeInDays": 180, "maxCount": 200, "kind": "AWS::ElasticBeanstalk::Application", "region": "us-east-1"}},
	},
	"docs-aws-examples-developer_tools.yml": {
		{"amplifyApp", "arn:aws:amplify:us-east-1:123456789012:apps/d1a2b3c4e5f6g7"}: {title: "docs-site", properties: map[string]any{
			"link": consoleARN + "arn:aws:amplify:us-east-1:123456789012:apps/d1a2b3c4e5f6g7", "appId": "d1a2b3c4e5f6g7",
			"repository": "https://github.com/example/docs-site", "platform": "WEB", "defaultDomain": "d1a2b3c4e5f6g7.amplifyapp.com",
			"customHeaders": "customHeaders: []", "appName": "docs-site", "arn": "arn:aws:amplify:us-east-1:123456789012:apps/d1a2b3c4e5f6g7",
			"kind": "AWS::Amplify::App", "region": "us-east-1"}},
	},
	"docs-aws-examples-machine_learning.yml": {
		{"lexBot", "ABCDEFGHIJ"}: {title: "support-bot", properties: map[string]any{
			"link": consoleARN + "arn:aws:lex:us-east-1:123456789012:bot/ABCDEFGHIJ", "arn": "arn:aws:lex:us-east-1:123456789012:bot/ABCDEFGHIJ",
			"role": "arn:aws:iam::123456789012:role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots", "name": "support-bot",
			"idleSessionTTLInSeconds": 300, "dataPrivacy": map[string]any{"ChildDirected": false}, "kind": "AWS::Lex::Bot", "region": "us-east-1"}},
	},
	"docs-aws-examples-management_and_governance.yml": {
		// The stack's title is the name in its id (DescribeStacks' StackName, which Cloud Control lacks).
		{"cloudformationStack", "arn:aws:cloudformation:us-east-1:123456789012:stack/network/2f6c0a10-0000-4000-8000-000000000002"}: {title: "network", properties: map[string]any{
			"link": consoleARN + "arn:aws:cloudformation:us-east-1:123456789012:stack/network/2f6c0a10-0000-4000-8000-000000000002",
			"arn":  "arn:aws:cloudformation:us-east-1:123456789012:stack/network/2f6c0a10-0000-4000-8000-000000000002", "kind": "AWS::CloudFormation::Stack", "region": "us-east-1"}},
		{"autoScalingGroup", "web-asg"}: {title: "web-asg", properties: map[string]any{
			"link":            "https://console.aws.amazon.com/ec2/home?region=us-east-1#AutoScalingGroupDetails:id=web-asg;view=details",
			"desiredCapacity": "2", "minSize": "1", "maxSize": "4",
			"arn":  "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:5d1c0000-0000-4000-8000-000000000003:autoScalingGroupName/web-asg",
			"role": consoleARN + "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
			"kind": "AWS::AutoScaling::AutoScalingGroup", "region": "us-east-1"}},
	},
	"docs-aws-examples-networking_and_content_delivery.yml": {
		// Port's example reads DistributionConfig's fields at the top of Properties.
		{"cloudFrontDistribution", "E2QWRUHAPOMQZL"}: {title: "d111111abcdef8.cloudfront.net", properties: map[string]any{
			"link":   "https://console.aws.amazon.com/cloudfront/home?region=us-east-1#/distribution/E2QWRUHAPOMQZL",
			"status": nil, "domainName": "d111111abcdef8.cloudfront.net", "lastModifiedTime": nil, "allowedMethods": nil, "originDomainNames": nil,
			"originIds": nil, "enabled": nil, "isIpv6Enabled": nil, "httpVersion": nil, "isStaging": nil, "kind": "AWS::CloudFront::Distribution", "region": "us-east-1"}},
	},
	"docs-aws-examples-security_identity_and_compliance.yml": {
		{"cognitoUserPool", "us-east-1_AbCdEfGhI"}: {title: "customers", properties: map[string]any{
			"link": consoleARN + "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI", "arn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI",
			"userPoolId": "us-east-1_AbCdEfGhI", "providerName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI", "status": nil, "creationDate": nil,
			"mfaConfiguration": "OPTIONAL", "kind": "AWS::Cognito::UserPool", "region": "us-east-1"}},
	},
	"docs-aws-examples-storage.yml": {
		{"rdsInstance", "orders-db"}: {title: "orders-db", properties: map[string]any{
			"link": consoleARN + "arn:aws:rds:us-east-1:123456789012:db:orders-db", "dbInstanceClass": "db.t4g.medium", "dbInstanceStatus": "available",
			"engine": "postgres", "storageType": "gp3", "engineVersion": "16.3", "port": "5432", "allocatedStorage": "100",
			"endpoint": "orders-db.abcdefghijkl.us-east-1.rds.amazonaws.com", "multiAZ": true, "deletionProtection": true, "availabilityZone": "us-east-1b",
			"masterUsername": "app", "publicAccess": false, "vpcSecurityGroups": nil, "arn": "arn:aws:rds:us-east-1:123456789012:db:orders-db"}},
		{"dynamoDBTable", "orders"}: {title: "orders", properties: map[string]any{
			"link": consoleARN + "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "tableStatus": nil, "itemCount": nil, "creationDateTime": nil,
			"billingMode": "PAY_PER_REQUEST", "writeCapacityUnits": nil, "readCapacityUnits": nil, "timeToLive": true, "pointInTimeRecovery": true,
			"deletionProtection": true, "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "kind": "AWS::DynamoDB::Table", "region": "us-east-1"}},
		{"dynamoDBTable", "sessions"}: {title: "sessions", properties: map[string]any{
			"link": consoleARN + "arn:aws:dynamodb:us-east-1:123456789012:table/sessions", "tableStatus": nil, "itemCount": nil, "creationDateTime": nil,
			"billingMode": "PROVISIONED", "writeCapacityUnits": 2, "readCapacityUnits": 5, "timeToLive": nil, "pointInTimeRecovery": false,
			"deletionProtection": false, "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/sessions", "kind": "AWS::DynamoDB::Table", "region": "us-east-1"}},
		{"elasticacheServerless", "sessions-cache"}: {title: "sessions-cache", properties: map[string]any{
			"link": consoleARN + "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:sessions-cache", "engine": "valkey", "engineVersion": "8.0",
			"status": "available", "description": "Session cache", "createTime": "2025-01-10T10:00:00.000Z", "securityGroupIds": []any{"sg-0123456789abcdef0"},
			"subnetIds": []any{"subnet-0123456789abcdef0"}, "endpoint": "sessions-cache-abc123.serverless.use1.cache.amazonaws.com", "port": "6379",
			"readerEndpoint": "sessions-cache-abc123.serverless.use1.cache.amazonaws.com", "readerPort": "6380", "dailySnapshotTime": "03:00",
			"snapshotRetentionLimit": 7, "serverlessCacheName": "sessions-cache",
			"arn": "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:sessions-cache", "kind": "AWS::ElastiCache::ServerlessCache", "region": "us-east-1"}},
	},
}

// Every example config of Port's documentation for Ocean's AWS integration
// syncs, unchanged, into the Port double with the documented blueprints
// (corrected where the documented mapping sends what they refuse, as it
// would in Ocean): each entity Ocean would write, property by property.
func TestOceanDocsExamplesSync(t *testing.T) {
	bed := newOceanBed(t)
	addBlueprints(t, bed.port, fixDocsBlueprints(t))
	entities := 0
	for file, wants := range docsExpectations {
		t.Run(file, func(t *testing.T) {
			report := bed.sync(t, filepath.Join(oceanTestdata, file))
			for _, s := range report.Shards {
				if !s.OK() {
					t.Errorf("shard %s: %v", s.Shard, s.Errors)
				}
			}
			for key, w := range wants {
				if w.relations == nil {
					w.relations = map[string]any{"account": moto.AccountID}
				}
				checkEntity(t, bed.port, key[0], key[1], w)
			}
		})
		entities += len(wants)
	}
	if len(docsExpectations) != 9 || entities != 21 {
		t.Fatalf("%d configs, %d entities checked; want 9 and 21", len(docsExpectations), entities)
	}
}

// Port's documented account mapping sends JoinedTimestamp as Ocean gives it
// (Python's str() of a datetime, with a space), which the blueprint's
// date-time format refuses: Ocean's own default mapping adds
// sub(" "; "T") for that (port-labs/ocean#1106). The accounts are read, the
// write is refused, and nothing is deleted.
func TestOceanDocsAccountExampleSendsOceansTimestamp(t *testing.T) {
	bed := newOceanBed(t)
	addBlueprints(t, bed.port, fixDocsBlueprints(t))
	report := bed.sync(t, filepath.Join(oceanTestdata, "docs-aws-examples-account.yml"))
	if len(report.Shards) != 1 {
		t.Fatalf("%d shards, want 1", len(report.Shards))
	}
	s := report.Shards[0]
	if s.Listed != 3 || s.Mapped != 3 || s.Upserted != 0 || s.Deleted != 0 || len(s.Errors) != 3 {
		t.Fatalf("listed %d, mapped %d, upserted %d, deleted %d, errors %v", s.Listed, s.Mapped, s.Upserted, s.Deleted, s.Errors)
	}
	if !regexp.MustCompile(`joined_timestamp.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00.* is not a date-time`).MatchString(s.Errors[0].Error()) {
		t.Errorf("error %v: want the refused timestamp", s.Errors[0])
	}
}

// AWS::Account::Info, as Ocean's AWS v3 integration maps it: one entity for
// the account read, named by Organizations.
func TestOceanAccountInfoSyncs(t *testing.T) {
	bed := newOceanBed(t, "blueprints-ocean-aws.json")
	report := bed.sync(t, filepath.Join(oceanTestdata, "ocean-aws-v3-account-info.yml"))
	if !report.OK() || len(report.Shards) != 1 || report.Shards[0].Upserted != 1 {
		t.Fatalf("report %+v", report.Shards)
	}
	got, ok := bed.port.Entity("awsAccount", moto.AccountID)
	if !ok || got.Title == "" || got.Title == "Account "+moto.AccountID {
		t.Fatalf("account %s: %+v, %v; want it titled with its Organizations name", moto.AccountID, got, ok)
	}
}

// A port-app-config's top-level options reach the controller and the Port
// target with Ocean's meaning: entityDeletionThreshold is the delete-share
// guard unless the user gave --max-delete-share, deleteDependentEntities and
// createMissingRelatedEntities are the delete and upsert flags.
func TestOceanOptionsReachTheCore(t *testing.T) {
	opts, _, _ := testbedOptions(t)
	write := func(doc string) string {
		path := filepath.Join(t.TempDir(), "port-app-config.yml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const entry = `resources:
  - kind: AWS::Lambda::Function
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"lambda"'}}}
`
	cases := []struct {
		name            string
		doc             string
		given           bool
		share           float64
		dependents      bool
		createMissing   bool
		deleteShareWant float64
	}{
		{"Ocean's options", "entityDeletionThreshold: 0.25\ndeleteDependentEntities: true\ncreateMissingRelatedEntities: false\n" + entry, false, 0.5, true, false, 0.25},
		{"a given share wins", "entityDeletionThreshold: 0.25\n" + entry, true, 0.75, false, true, 0.75},
		{"without the options: this exporter's defaults", entry, false, 0.5, false, true, 0.5},
		{"a threshold of 0 deletes nothing", "entityDeletionThreshold: 0\n" + entry, false, 0.5, false, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			o.ConfigLocation = write(c.doc)
			o.Sync.MaxDeleteShare, o.Sync.MaxDeleteShareGiven = c.share, c.given
			b, err := Build(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Controller.Settings().MaxDeleteShare; got != c.deleteShareWant {
				t.Errorf("delete share %v, want %v", got, c.deleteShareWant)
			}
			if got := b.deleteOptions().DeleteDependents; got != c.dependents {
				t.Errorf("delete dependents %v, want %v", got, c.dependents)
			}
			if got := b.upsertOptions().CreateMissingRelatedEntities; got != c.createMissing {
				t.Errorf("create missing related entities %v, want %v", got, c.createMissing)
			}
		})
	}

	// A policy that leaves no region to read stops Build, naming the entry.
	o := opts
	o.ConfigLocation = write(`resources:
  - kind: AWS::Lambda::Function
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"lambda"'}}}
  - kind: AWS::SQS::Queue
    selector: {query: 'true', regionPolicy: {deny: [us-east-1]}}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"lambda"'}}}
`)
	if _, err := Build(context.Background(), o); err == nil || !strings.Contains(err.Error(), "resources[1].selector.regionPolicy: allows no region to read AWS::SQS::Queue") {
		t.Fatalf("Build: %v, want the entry whose policy denies every region", err)
	}
}

// The account readers are wired by kind; every other kind reads Cloud Control.
func TestReadersByKind(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "lambda", "properties": {}}]}}}]}`), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	readers := NewReaders(mapper, aws.Config{Region: "us-east-1"}, source.Options{}, "us-east-1").Source
	for _, kind := range []string{config.KindOrganizationsAccount, config.KindAccountInfo} {
		if _, ok := readers.Kinds[kind]; !ok {
			t.Errorf("no reader for %s", kind)
		}
	}
	if len(readers.Kinds) != len(accountinfo.Constructors) || readers.Reader("AWS::Lambda::Function") != readers.Default {
		t.Errorf("readers %+v", readers)
	}
}

// useGetResourceAPI: false maps what ListResources returns, as Ocean does
// (here the list handler gives only the name, so the memory comes out
// null); true, or not set (this exporter's default), reads every property.
func TestOceanUseGetResourceAPI(t *testing.T) {
	opts, emu, double := testbedOptions(t)
	emu.SetType("AWS::Lambda::Function", cloudcontrol.TypeConfig{ListProperties: []string{"FunctionName"}})
	if err := double.AddBlueprint([]byte(`{"identifier": "fn", "title": "Function", "schema": {"properties": {"memory": {"type": "number"}, "name": {"type": "string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	functions := emu.Resources("us-east-1", "AWS::Lambda::Function")
	if len(functions) == 0 {
		t.Fatal("the demo has no functions in us-east-1")
	}
	for _, c := range []struct {
		setting   string
		wantFull  bool
		wantCalls bool // GetResource per function
	}{{"useGetResourceAPI: false", false, false}, {"useGetResourceAPI: 'true'", true, true}, {"", true, true}} {
		t.Run(c.setting, func(t *testing.T) {
			o := opts
			o.ConfigLocation = filepath.Join(t.TempDir(), "port-app-config.yml")
			doc := "resources:\n  - kind: AWS::Lambda::Function\n    selector: {query: 'true', regionPolicy: {allow: [us-east-1]}" +
				map[bool]string{true: ", " + c.setting, false: ""}[c.setting != ""] + "}\n" +
				"    port: {entity: {mappings: {identifier: .Identifier, blueprint: '\"fn\"', properties: {memory: .Properties.MemorySize, name: .Properties.FunctionName}}}}\n"
			if err := os.WriteFile(o.ConfigLocation, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			emu.ResetCounts()
			b, err := Build(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if report, err := b.Controller.Run(context.Background()); err != nil || !report.OK() {
				t.Fatalf("sync: %v, %+v", err, report.Shards)
			}
			if gets := emu.Counts(cloudcontrol.OpGetResource, "us-east-1").Calls; (gets > 0) != c.wantCalls {
				t.Errorf("%d GetResource calls, want them: %v", gets, c.wantCalls)
			}
			for _, f := range functions {
				got, ok := double.Entity("fn", f.Identifier)
				if !ok || got.Properties["name"] != f.Identifier {
					t.Fatalf("function %s: %+v, %v", f.Identifier, got, ok)
				}
				if full := got.Properties["memory"] != nil; full != c.wantFull {
					t.Errorf("function %s: memory %v, want it filled: %v", f.Identifier, got.Properties["memory"], c.wantFull)
				}
			}
		})
	}
}
