// Package describetest creates, in moto_server, resources of every kind
// internal/source/describe reads, through the real SDK clients, for the
// tests of the describe reader and of the exporter's sync and events.
package describetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Fixture names what Populate created.
type Fixture struct {
	Region string
	// RunningInstance is tagged Name=web; TerminatedInstance was terminated.
	RunningInstance, TerminatedInstance string
	VpcID                               string
	// WebLB is an application load balancer with an HTTP listener and a
	// tag; NetLB a network load balancer without tags or listeners.
	WebLB, NetLB             Named
	Certificate              string // an ACM certificate ARN (example.com)
	JSONStack, YAMLStack     Named  // a stack from a JSON template and one from YAML
	DeletedStack             Named  // a stack created and deleted
	CacheCluster, CacheARN   string // a redis cluster tagged team=cache
	QueueOfJSONStack         string // the physical id of the JSON stack's queue
	AvailabilityZone         string // of RunningInstance
	InstanceType, ImageID    string
	Subnets                  []string
	WebListenerTargetGroupID string
}

// Named is a resource's name and its ARN (or id).
type Named struct{ Name, ARN string }

// Populate creates the fixture's resources in cfg's region (moto's account).
func Populate(t testing.TB, ctx context.Context, cfg aws.Config) Fixture {
	t.Helper()
	f := Fixture{Region: cfg.Region, InstanceType: "t3.micro"}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create the describe fixture: %s: %v", what, err)
		}
	}

	ec2c := ec2.NewFromConfig(cfg)
	images, err := ec2c.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	must("DescribeImages", err)
	if len(images.Images) == 0 {
		t.Fatal("create the describe fixture: moto has no AMI")
	}
	f.ImageID = aws.ToString(images.Images[0].ImageId)
	run := func(name string) string {
		in := &ec2.RunInstancesInput{ImageId: &f.ImageID, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceType(f.InstanceType)}
		if name != "" {
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
				Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}, {Key: aws.String("team"), Value: aws.String("web")}}}}
		}
		out, err := ec2c.RunInstances(ctx, in)
		must("RunInstances", err)
		return aws.ToString(out.Instances[0].InstanceId)
	}
	f.RunningInstance = run("web")
	f.TerminatedInstance = run("")
	_, err = ec2c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{f.TerminatedInstance}})
	must("TerminateInstances", err)
	inst, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{f.RunningInstance}})
	must("DescribeInstances", err)
	f.AvailabilityZone = aws.ToString(inst.Reservations[0].Instances[0].Placement.AvailabilityZone)
	f.VpcID = aws.ToString(inst.Reservations[0].Instances[0].VpcId)
	subnets, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{f.VpcID}}}})
	must("DescribeSubnets", err)
	for _, s := range subnets.Subnets {
		if len(f.Subnets) < 2 {
			f.Subnets = append(f.Subnets, aws.ToString(s.SubnetId))
		}
	}

	elb := elbv2.NewFromConfig(cfg)
	web, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("web-lb"), Subnets: f.Subnets,
		Tags: []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	must("CreateLoadBalancer web-lb", err)
	f.WebLB = Named{"web-lb", aws.ToString(web.LoadBalancers[0].LoadBalancerArn)}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("web-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: &f.VpcID})
	must("CreateTargetGroup", err)
	f.WebListenerTargetGroupID = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	_, err = elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: &f.WebLB.ARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &f.WebListenerTargetGroupID}}})
	must("CreateListener", err)
	netLB, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("net-lb"), Subnets: f.Subnets,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal})
	must("CreateLoadBalancer net-lb", err)
	f.NetLB = Named{"net-lb", aws.ToString(netLB.LoadBalancers[0].LoadBalancerArn)}

	cert, err := acm.NewFromConfig(cfg).RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("example.com"),
		SubjectAlternativeNames: []string{"www.example.com"}})
	must("RequestCertificate", err)
	f.Certificate = aws.ToString(cert.CertificateArn)

	cfn := cloudformation.NewFromConfig(cfg)
	jsonTemplate, _ := json.Marshal(map[string]any{
		"Description": "orders queue",
		"Resources":   map[string]any{"Queue": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"QueueName": "orders", "DelaySeconds": 5}}},
	})
	create := func(name, body string) Named {
		out, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: &name, TemplateBody: aws.String(body),
			Tags: []cfntypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}})
		must("CreateStack "+name, err)
		return Named{name, aws.ToString(out.StackId)}
	}
	f.JSONStack = create("orders", string(jsonTemplate))
	f.YAMLStack = create("topics", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: alerts\n")
	f.DeletedStack = create("gone", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
	_, err = cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: &f.DeletedStack.ARN})
	must("DeleteStack", err)
	res, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: &f.JSONStack.ARN})
	must("DescribeStackResources", err)
	f.QueueOfJSONStack = aws.ToString(res.StackResources[0].PhysicalResourceId)

	ec := elasticache.NewFromConfig(cfg)
	cl, err := ec.CreateCacheCluster(ctx, &elasticache.CreateCacheClusterInput{CacheClusterId: aws.String("sessions"), Engine: aws.String("redis"),
		CacheNodeType: aws.String("cache.t3.micro"), NumCacheNodes: aws.Int32(1), Tags: []ectypes.Tag{{Key: aws.String("team"), Value: aws.String("cache")}}})
	must("CreateCacheCluster", err)
	f.CacheCluster, f.CacheARN = aws.ToString(cl.CacheCluster.CacheClusterId), aws.ToString(cl.CacheCluster.ARN)
	return f
}
