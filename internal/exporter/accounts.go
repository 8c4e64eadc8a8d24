package exporter

import (
	"context"

	"github.com/port-labs/port-aws-exporter/internal/accounts"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/source"
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
	r, err := accounts.New(b.Config.AWS, accounts.Options{
		Base: b.AWS, OwnAccountID: b.AccountID, Logger: b.Logger,
	})
	if err != nil {
		return err
	}
	set := accounts.NewSet(r, func(a accounts.Account) controller.Source {
		if a.Own() {
			return b.Readers.Source
		}
		return NewReaders(b.Mapper, a.AWS, srcOpts, b.AWS.Region).Source
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
