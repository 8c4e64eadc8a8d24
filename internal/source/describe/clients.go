package describe

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// clients are one region's SDK clients, each made on first use with the
// pacing and retries of its (service, region).
type clients struct {
	cfg    aws.Config
	paced  *source.Paced
	region string

	ec2Once, elbOnce, acmOnce, cfnOnce, cacheOnce sync.Once

	ec2   *ec2.Client
	elb   *elbv2.Client
	acm   *acm.Client
	cfn   *cloudformation.Client
	cache *elasticache.Client
}

// calls are a service's pacing key and its per-resource operations (which
// hold a slot of the region's read budget).
type calls struct {
	service     string
	perResource []string
}

func (c *clients) settings(k calls) source.ClientSettings {
	return c.paced.Client(k.service, c.region, k.perResource...)
}

func (c *clients) EC2() *ec2.Client {
	c.ec2Once.Do(func() {
		s := c.settings(ec2Calls)
		c.ec2 = ec2.NewFromConfig(c.cfg, func(o *ec2.Options) {
			o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
			o.APIOptions = append(o.APIOptions, s.APIOptions...)
		})
	})
	return c.ec2
}

func (c *clients) ELB() *elbv2.Client {
	c.elbOnce.Do(func() {
		s := c.settings(elbCalls)
		c.elb = elbv2.NewFromConfig(c.cfg, func(o *elbv2.Options) {
			o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
			o.APIOptions = append(o.APIOptions, s.APIOptions...)
		})
	})
	return c.elb
}

func (c *clients) ACM() *acm.Client {
	c.acmOnce.Do(func() {
		s := c.settings(acmCalls)
		c.acm = acm.NewFromConfig(c.cfg, func(o *acm.Options) {
			o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
			o.APIOptions = append(o.APIOptions, s.APIOptions...)
		})
	})
	return c.acm
}

func (c *clients) CloudFormation() *cloudformation.Client {
	c.cfnOnce.Do(func() {
		s := c.settings(cfnCalls)
		c.cfn = cloudformation.NewFromConfig(c.cfg, func(o *cloudformation.Options) {
			o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
			o.APIOptions = append(o.APIOptions, s.APIOptions...)
		})
	})
	return c.cfn
}

func (c *clients) ElastiCache() *elasticache.Client {
	c.cacheOnce.Do(func() {
		s := c.settings(cacheCalls)
		c.cache = elasticache.NewFromConfig(c.cfg, func(o *elasticache.Options) {
			o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
			o.APIOptions = append(o.APIOptions, s.APIOptions...)
		})
	})
	return c.cache
}
