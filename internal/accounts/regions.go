package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/sync/errgroup"
)

// discover fills the enabled regions of the accounts that need them, with
// each account's own credentials. An account whose regions cannot be
// listed cannot be read either: guessing its regions could read too few
// (and a full sync would then leave the others' entities unowned by any
// shard) or call regions it has not enabled.
func (r *Resolver) discover(ctx context.Context, accts []Account) {
	var g errgroup.Group
	g.SetLimit(max(r.cfg.MaxConcurrentAccounts, 8))
	for i := range accts {
		a := &accts[i]
		if a.Err != nil || !(r.opts.DiscoverRegions || slices.Contains(a.Regions, "*")) {
			continue
		}
		g.Go(func() error {
			if !a.Own() {
				// The role first, so that a refused AssumeRole says so
				// (after a check, the cache answers without a call).
				if _, err := a.AWS.Credentials.Retrieve(ctx); err != nil {
					a.Err = &Error{AccountID: a.ID, RoleARN: a.RoleARN, Err: err}
					a.AWS = aws.Config{}
					r.opts.Logger.Error("account cannot be read", "account", a.ID, "role", a.RoleARN, "error", a.Err)
					return nil
				}
			}
			enabled, err := r.opts.EnabledRegions(ctx, a.AWS)
			if err != nil {
				a.Err = fmt.Errorf("list the account's enabled regions (ec2:DescribeRegions): %w", err)
				a.AWS = aws.Config{}
				r.opts.Logger.Error("account cannot be read", "account", a.ID, "error", a.Err)
				return nil
			}
			slices.Sort(enabled)
			a.Enabled = enabled
			return nil
		})
	}
	_ = g.Wait()
}

// describeRegions lists the regions enabled in the account of cfg.
func describeRegions(ctx context.Context, cfg aws.Config) ([]string, error) {
	out, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, err
	}
	regions := make([]string, 0, len(out.Regions))
	for _, reg := range out.Regions {
		if name := aws.ToString(reg.RegionName); name != "" {
			regions = append(regions, name)
		}
	}
	return regions, nil
}
