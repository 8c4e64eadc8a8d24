package describe

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Load balancers (application, network and gateway: ELBv2): the original
// described each load balancer by name and added Attributes
// (DescribeLoadBalancerAttributes), Listeners (DescribeListeners) and Tags
// (DescribeTags' TagDescriptions[0].Tags). Here the pages of
// DescribeLoadBalancers give the load balancers, DescribeTags takes 20 of
// them per call, and every page of DescribeListeners is read (the original
// read the first). The original's per-resource client had no region (its
// load balancers outside the Lambda's region failed); here every call is in
// the shard's region.
var elbCalls = calls{service: "Elastic Load Balancing v2", perResource: []string{"DescribeLoadBalancerAttributes", "DescribeListeners", "DescribeTags"}}

var elbKind = kind{
	permissions: []string{
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags",
	},
	list: listLoadBalancers,
	get:  getLoadBalancer,
}

// describeTagsBatch is DescribeTags' limit of resource ARNs per call.
const describeTagsBatch = 20

func listLoadBalancers(ctx context.Context, c *clients, l *lister) error {
	pages := elbv2.NewDescribeLoadBalancersPaginator(c.ELB(), &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(400)})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("DescribeLoadBalancers, page %d: %w", page, err)
		}
		tags, err := loadBalancerTags(ctx, c, out.LoadBalancers)
		if err != nil {
			return err
		}
		for _, lb := range out.LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			t, ok := tags[arn]
			if !ok {
				continue // gone between the page and its tags
			}
			l.enrich(arn, func(ctx context.Context) (item, error) { return completeLoadBalancer(ctx, c, lb, t) })
		}
	}
	return nil
}

func getLoadBalancer(ctx context.Context, c *clients, identifier string) (item, error) {
	in := &elbv2.DescribeLoadBalancersInput{}
	// Cloud Control's identifier is the ARN; the original's event rules sent
	// the name. A name cannot contain ":".
	if strings.HasPrefix(identifier, "arn:") {
		in.LoadBalancerArns = []string{identifier}
	} else {
		in.Names = []string{identifier}
	}
	out, err := c.ELB().DescribeLoadBalancers(ctx, in)
	if err != nil {
		if apiCode(err) == "LoadBalancerNotFound" {
			return item{}, source.NotFound(err)
		}
		return item{}, fmt.Errorf("DescribeLoadBalancers: %w", err)
	}
	if len(out.LoadBalancers) != 1 {
		return item{}, fmt.Errorf("DescribeLoadBalancers answered %d load balancers, want 1 (and no LoadBalancerNotFound)", len(out.LoadBalancers))
	}
	lb := out.LoadBalancers[0]
	tags, err := loadBalancerTags(ctx, c, out.LoadBalancers)
	if err != nil {
		return item{}, err
	}
	t, ok := tags[aws.ToString(lb.LoadBalancerArn)]
	if !ok {
		return item{}, fmt.Errorf("DescribeTags: no tags for %s", aws.ToString(lb.LoadBalancerArn))
	}
	return completeLoadBalancer(ctx, c, lb, t)
}

// loadBalancerTags reads the tags of lbs, 20 per call; a load balancer that
// is gone has no entry. A batch that fails with LoadBalancerNotFound (one
// of them is gone) is asked again one by one.
func loadBalancerTags(ctx context.Context, c *clients, lbs []types.LoadBalancer) (map[string][]types.Tag, error) {
	tags := make(map[string][]types.Tag, len(lbs))
	var batches [][]string
	for i := 0; i < len(lbs); i += describeTagsBatch {
		var arns []string
		for _, lb := range lbs[i:min(i+describeTagsBatch, len(lbs))] {
			arns = append(arns, aws.ToString(lb.LoadBalancerArn))
		}
		batches = append(batches, arns)
	}
	results := make([]map[string][]types.Tag, len(batches))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, arns := range batches {
		g.Go(func() error {
			m, err := describeTags(gctx, c, arns)
			if apiCode(err) == "LoadBalancerNotFound" && len(arns) > 1 {
				m = map[string][]types.Tag{}
				for _, arn := range arns {
					one, err := describeTags(gctx, c, []string{arn})
					if apiCode(err) == "LoadBalancerNotFound" {
						continue
					}
					if err != nil {
						return err
					}
					m[arn] = one[arn]
				}
				err = nil
			}
			results[i] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, m := range results {
		for k, v := range m {
			tags[k] = v
		}
	}
	return tags, nil
}

func describeTags(ctx context.Context, c *clients, arns []string) (map[string][]types.Tag, error) {
	out, err := c.ELB().DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		return nil, fmt.Errorf("DescribeTags: %w", err)
	}
	m := make(map[string][]types.Tag, len(arns))
	for _, d := range out.TagDescriptions {
		t := d.Tags
		if t == nil {
			t = []types.Tag{}
		}
		m[aws.ToString(d.ResourceArn)] = t
	}
	return m, nil
}

// completeLoadBalancer adds Attributes, Listeners and Tags, as the original did.
func completeLoadBalancer(ctx context.Context, c *clients, lb types.LoadBalancer, tags []types.Tag) (item, error) {
	arn := aws.ToString(lb.LoadBalancerArn)
	attrs, err := c.ELB().DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: &arn})
	if err != nil {
		return item{}, loadBalancerGone(fmt.Errorf("DescribeLoadBalancerAttributes: %w", err))
	}
	var listeners []types.Listener
	pages := elbv2.NewDescribeListenersPaginator(c.ELB(), &elbv2.DescribeListenersInput{LoadBalancerArn: &arn})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return item{}, loadBalancerGone(fmt.Errorf("DescribeListeners: %w", err))
		}
		listeners = append(listeners, out.Listeners...)
	}
	doc := document(lb)
	doc["Attributes"] = list(attrs.Attributes)
	doc["Listeners"] = list(listeners)
	doc["Tags"] = list(tags)
	return item{id: arn, doc: doc}, nil
}

// loadBalancerGone marks a per-resource call's LoadBalancerNotFound.
func loadBalancerGone(err error) error {
	if apiCode(err) == "LoadBalancerNotFound" {
		return source.NotFound(err)
	}
	return err
}
