package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Account is one account a controller reads (internal/accounts resolves them).
type Account struct {
	ID string
	// Regions, when set, limit the account to these of the config's
	// regions; "*" is every region the account has enabled (Enabled).
	Regions []string
	// Enabled are the account's enabled regions, when discovered (nil: not
	// known; the config's regions are read as given).
	Enabled []string
	// Err, when set, is why the account cannot be read (its role could not
	// be assumed): each of its shards fails with it, reading nothing and
	// deleting nothing, and the other accounts go on.
	Err error
}

// AccountSet is the accounts of a multi-account controller. Its Source
// (Parts.Source) reads each shard with the credentials of the shard's account.
type AccountSet interface {
	// Refresh resolves the accounts again and checks their credentials:
	// every full sync starts with it (accounts come and go). An error means
	// the list could not be had; the sync then reads and deletes nothing.
	Refresh(ctx context.Context) error
	// Current is the last resolved list.
	Current() []Account
	// MaxConcurrent bounds how many accounts a full sync reads at once (0: no bound).
	MaxConcurrent() int
}

// accounts is the list the controller reads now: the set's, or the one
// account of Parts.AccountID.
func (c *Controller) accounts() []Account {
	if c.parts.Accounts == nil {
		return []Account{{ID: c.parts.AccountID}}
	}
	return c.parts.Accounts.Current()
}

// Accounts lists the accounts the controller reads now.
func (c *Controller) Accounts() []Account { return slices.Clone(c.accounts()) }

// account finds a configured account.
func (c *Controller) account(id string) (Account, bool) {
	for _, a := range c.accounts() {
		if a.ID == id {
			return a, true
		}
	}
	return Account{}, false
}

// inRegions: an account without a region list (or with "*") reads every
// region of the config.
func (a Account) inRegions(region string) bool {
	return len(a.Regions) == 0 || slices.Contains(a.Regions, "*") || slices.Contains(a.Regions, region)
}

// regionsOf are the regions entry r reads in account a: the config's (or,
// with the account's enabled regions known, those of them enabled there,
// or the enabled ones a regionPolicy allows), narrowed to the account's own
// region list.
func (c *Controller) regionsOf(r *mapping.Resource, a Account) []string {
	var out []string
	for _, region := range r.RegionsIn(a.Enabled, c.parts.DefaultRegion) {
		if region != "" && a.inRegions(region) {
			out = append(out, region)
		}
	}
	return out
}

// RegionsOf are the regions a full sync reads kind in, in the account (the
// S3 reader assigns each bucket to the shard of its region among them).
func (c *Controller) RegionsOf(kind, accountID string) []string {
	a, ok := c.account(accountID)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range c.parts.Mapper.ForKind(kind) {
		out = appendMissing(out, c.regionsOf(r, a)...)
	}
	return out
}

// AccountError is a shard of an account that could not be read.
type AccountError struct {
	AccountID string
	Err       error
}

func (e *AccountError) Error() string {
	return fmt.Sprintf("account %s not read, nothing deleted there: %v", e.AccountID, e.Err)
}
func (e *AccountError) Unwrap() error { return e.Err }

// accountGate lets at most max accounts read at once: a shard of an
// account already reading goes ahead, another waits for a free account.
type accountGate struct {
	max    int
	mu     sync.Mutex
	cond   *sync.Cond
	active map[string]int
}

func newAccountGate(max int) *accountGate {
	g := &accountGate{max: max, active: map[string]int{}}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits for the account's turn; the returned func leaves.
func (g *accountGate) enter(ctx context.Context, account string) (func(), error) {
	if g == nil || g.max <= 0 {
		return func() {}, nil
	}
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.cond.Broadcast()
	})
	defer stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.active[account] == 0 && len(g.active) >= g.max {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		g.cond.Wait()
	}
	g.active[account]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.active[account]--; g.active[account] == 0 {
			delete(g.active, account)
		}
		g.cond.Broadcast()
	}, nil
}

// crossAccount finds entities that shards of two accounts both produced:
// the config's identifier does not tell the accounts apart, so each
// account's write overwrites the other's. Each such shard fails (it wrote,
// but its result is not its own), which also keeps it from deleting.
func crossAccount(works []*shardWork) {
	first := map[entity.Ref]string{}
	clash := map[string]map[entity.Ref]string{} // account → ref → other account
	for _, w := range works {
		for _, ref := range w.desiredRefs() {
			other, seen := first[ref]
			switch {
			case !seen:
				first[ref] = w.shard.AccountID
			case other != w.shard.AccountID:
				for _, pair := range [][2]string{{w.shard.AccountID, other}, {other, w.shard.AccountID}} {
					if clash[pair[0]] == nil {
						clash[pair[0]] = map[entity.Ref]string{}
					}
					clash[pair[0]][ref] = pair[1]
				}
			}
		}
	}
	if len(clash) == 0 {
		return
	}
	for _, w := range works {
		n, example, other := 0, entity.Ref{}, ""
		for _, ref := range w.desiredRefs() {
			if o, ok := clash[w.shard.AccountID][ref]; ok {
				if n == 0 || ref.String() < example.String() {
					example, other = ref, o
				}
				n++
			}
		}
		if n > 0 {
			w.fail(fmt.Errorf("%d entities (e.g. %s, also produced in account %s) are produced in more than one account: the mapping's "+
				"identifier does not tell accounts apart, so each account overwrites the other's (map the ARN instead)", n, example, other))
		}
	}
}

// ErrUnknownAccount is a scope in an account the config does not read.
var ErrUnknownAccount = errors.New("the config does not read this account")

// RefreshAccounts resolves the accounts again (Run does it itself): the
// Lambda fan-out lists shards with it, and a shard message of an account
// this process has not seen yet looks again before refusing it. A no-op
// without an account set.
func (c *Controller) RefreshAccounts(ctx context.Context) error {
	if c.parts.Accounts == nil {
		return nil
	}
	return c.parts.Accounts.Refresh(ctx)
}

// MultiAccount is true when the controller reads the accounts of an aws
// block; without one it reads its own account only, as it always did.
func (c *Controller) MultiAccount() bool { return c.parts.Accounts != nil }

// warnAccountsWithoutShards names the accounts a full sync reads nothing
// in: their regions are none of the config's.
func (c *Controller) warnAccountsWithoutShards(shards []source.Shard) {
	if c.parts.Accounts == nil {
		return
	}
	has := map[string]bool{}
	for _, sh := range shards {
		has[sh.AccountID] = true
	}
	for _, a := range c.accounts() {
		if !has[a.ID] && a.Err == nil {
			c.log.Warn("account has no shard: none of its regions is one the config reads", "account", a.ID, "regions", a.Regions)
		}
	}
}
