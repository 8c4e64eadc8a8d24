package exporter

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/accounts"
	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/source/s3region"
)

// buildAccounts makes the account set of a config with an aws block: each
// account read by readers built from its own aws.Config (the own account by
// b.Readers), never by another's. The list is resolved now without
// fetching credentials, so that shard messages and events can be placed
// before the first full sync, which resolves it again and checks every role.
func (b *Built) buildAccounts(ctx context.Context, srcOpts source.Options, metrics *metrics.Metrics) error {
	if b.Config.AWS == nil {
		return nil
	}
	discover := false
	for _, res := range b.Mapper.Resources() {
		discover = discover || res.RegionPolicy() != nil
	}
	r, err := accounts.New(b.Config.AWS, accounts.Options{
		Base: b.AWS, OwnAccountID: b.AccountID, Logger: b.Logger, DiscoverRegions: discover,
	})
	if err != nil {
		return err
	}
	// S3 buckets are assigned to the shards of the regions the sync reads
	// in each account, which discovery decides (read when the shards list).
	s3Regions := func(account string) []string { return b.Controller.RegionsOf(s3region.Kind, account) }
	set := accounts.NewSet(r, func(a accounts.Account) controller.Source {
		if a.Own() && a.Enabled == nil {
			return b.Readers.Source
		}
		return newReaders(b.Mapper, a.AWS, srcOpts, b.AWS.Region, s3Regions).Source
	})
	if m := metrics; m != nil {
		set.OnResolve = func(accts []accounts.Account) {
			ids := make([]string, len(accts))
			for i, a := range accts {
				ids[i] = a.ID
			}
			m.SetAccounts(ids...)
		}
	}
	if err := set.Load(ctx); err != nil {
		return err
	}
	b.Accounts = set
	return nil
}

// applyAWSAccounts replaces the config's aws block with the one given by
// --aws-accounts (AWS_ACCOUNTS_CONFIG), checked as in a config.
func applyAWSAccounts(cfg *config.Config, raw string, log *slog.Logger) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	a, problems, err := config.ParseAWS([]byte(raw))
	if err != nil {
		return fmt.Errorf("--aws-accounts: %w", err)
	}
	if len(problems) > 0 {
		return &config.ValidationError{Source: "--aws-accounts", Problems: problems}
	}
	if cfg.AWS != nil {
		log.Warn("the config's aws block is replaced by --aws-accounts (AWS_ACCOUNTS_CONFIG)", "file", cfg.Source)
	}
	cfg.AWS = a
	return nil
}

// source is what the controller reads: the account set, or the own
// account's readers.
func (b *Built) source() controller.Source {
	if b.Accounts != nil {
		return b.Accounts
	}
	return b.Readers.Source
}

// accountSet is nil (not a nil *accounts.Set) without an aws block.
func (b *Built) accountSet() controller.AccountSet {
	if b.Accounts != nil {
		return b.Accounts
	}
	return nil
}
