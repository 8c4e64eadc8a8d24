package accounts

import (
	"context"
	"fmt"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Set is the controller's view of the accounts (controller.AccountSet) and
// its source: each shard is read by the readers of its own account, built
// from that account's aws.Config; a shard of any other account is refused.
type Set struct {
	resolver *Resolver
	// newSource builds an account's readers (exporter.NewReaders).
	newSource func(Account) controller.Source

	// OnResolve, when set, is told every resolved list (metrics' account label).
	OnResolve func([]Account)

	mu       sync.RWMutex
	current  []Account
	sources  map[string]controller.Source
	sourceOf map[string]string // account → role its source was built for
}

// NewSet returns the set of r's accounts, each read through newSource(account).
func NewSet(r *Resolver, newSource func(Account) controller.Source) *Set {
	return &Set{resolver: r, newSource: newSource, sources: map[string]controller.Source{}, sourceOf: map[string]string{}}
}

// Refresh resolves the accounts and checks their credentials (a full sync's start).
func (s *Set) Refresh(ctx context.Context) error { return s.resolve(ctx, true) }

// Load resolves the accounts without fetching credentials (a service's
// start: events of a member account then assume its role on first use).
func (s *Set) Load(ctx context.Context) error { return s.resolve(ctx, false) }

func (s *Set) resolve(ctx context.Context, check bool) error {
	accts, err := s.resolver.Resolve(ctx, check)
	if err != nil {
		return err
	}
	if s.OnResolve != nil {
		s.OnResolve(accts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = accts
	for _, a := range accts {
		if a.Err != nil {
			continue
		}
		// Readers keep their pace per region; they are built once per
		// account (and role), and the credentials inside refresh themselves.
		if _, ok := s.sources[a.ID]; !ok || s.sourceOf[a.ID] != a.RoleARN {
			s.sources[a.ID] = s.newSource(a)
			s.sourceOf[a.ID] = a.RoleARN
		}
	}
	return nil
}

// Current is the last resolved list, as the controller sees it.
func (s *Set) Current() []controller.Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]controller.Account, len(s.current))
	for i, a := range s.current {
		out[i] = controller.Account{ID: a.ID, Regions: a.Regions, Enabled: a.Enabled, Err: a.Err}
	}
	return out
}

// Resolved is the last resolved list, with each account's role and config.
func (s *Set) Resolved() []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Account(nil), s.current...)
}

// MaxConcurrent is the config's max_concurrent_accounts.
func (s *Set) MaxConcurrent() int { return s.resolver.MaxConcurrent() }

// source is the reader of a configured, readable account.
func (s *Set) source(account string) (controller.Source, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.current {
		if a.ID != account {
			continue
		}
		if a.Err != nil {
			return nil, a.Err
		}
		if src := s.sources[account]; src != nil {
			return src, nil
		}
	}
	return nil, fmt.Errorf("account %s: %w", account, ErrUnknownAccount)
}

// List reads a shard with its account's credentials.
func (s *Set) List(ctx context.Context, shard source.Shard, opts source.ListOptions, fn func(source.Resource) error) error {
	src, err := s.source(shard.AccountID)
	if err != nil {
		return err
	}
	return src.List(ctx, shard, opts, fn)
}

// Get reads one resource with its account's credentials.
func (s *Set) Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error) {
	src, err := s.source(shard.AccountID)
	if err != nil {
		return source.Resource{}, err
	}
	return src.Get(ctx, shard, identifier)
}
