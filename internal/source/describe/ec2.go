package describe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// EC2 instances: the original listed every instance (boto3's
// instances.all()) and described each by id, taking
// Reservations[0].Instances[0]. A page of DescribeInstances holds the same
// items, so the listing reads them from the pages without a call per
// instance. Terminated instances are listed for about an hour after
// termination, as by the original: the published selector skips them.
var ec2Calls = calls{service: "EC2"}

var ec2Kind = kind{
	permissions: []string{"ec2:DescribeInstances"},
	list:        listInstances,
	get:         getInstance,
}

func listInstances(ctx context.Context, c *clients, l *lister) error {
	pages := ec2.NewDescribeInstancesPaginator(c.EC2(), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("DescribeInstances, page %d: %w", page, err)
		}
		for _, res := range out.Reservations {
			for _, inst := range res.Instances {
				if err := l.deliver(instanceItem(inst)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func getInstance(ctx context.Context, c *clients, id string) (item, error) {
	out, err := c.EC2().DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if apiCode(err) == "InvalidInstanceID.NotFound" {
			return item{}, source.NotFound(err)
		}
		return item{}, fmt.Errorf("DescribeInstances: %w", err)
	}
	for _, res := range out.Reservations {
		for _, inst := range res.Instances {
			if aws.ToString(inst.InstanceId) == id {
				return instanceItem(inst), nil
			}
		}
	}
	// Not one of the service's not-found answers: no proof of anything.
	return item{}, fmt.Errorf("DescribeInstances answered without instance %q and without InvalidInstanceID.NotFound", id)
}

func instanceItem(inst types.Instance) item {
	return item{id: aws.ToString(inst.InstanceId), doc: document(inst)}
}
