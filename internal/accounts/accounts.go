// Package accounts resolves which AWS accounts the exporter reads and the
// credentials of each: the config's aws block (config.AWS) is an explicit
// list of roles, or an AWS Organization whose member accounts are listed
// (ListAccounts, or the accounts under some organizational units and every
// OU below them, minus the skipped OUs and accounts; only ACTIVE accounts).
// The list is resolved again at every full sync, since accounts come and go.
//
// A member account's aws.Config carries credentials from
// stscreds.NewAssumeRoleProvider (the config's external ID, a session name
// that says it is this exporter) inside aws.NewCredentialsCache: one
// AssumeRole per account until the credentials near their expiry, however
// many shards, regions and readers use them, and refreshed before expiry so
// that a sync longer than a session does not fail. An ExpiredToken answer
// in the middle of a listing (credentials revoked or cut short) invalidates
// the cache and is retried by the SDK with fresh credentials (expired.go).
//
// A member account is NEVER read with the base credentials: when its role
// cannot be assumed, the account carries the error (Account.Err) and the
// controller fails its shards without reading or deleting anything there,
// while the other accounts go on.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/config"
)

// Account is one account to read.
type Account struct {
	ID string
	// Name is the organization's name of the account ("" for explicit lists).
	Name string
	// RoleARN is the role assumed to read it; "" for the exporter's own
	// account, read with the base credentials.
	RoleARN string
	// Regions, when set, limit the account to these of the config's
	// regions; "*" is every region the account has enabled.
	Regions []string
	// Enabled are the account's enabled regions, when discovered
	// (Options.DiscoverRegions, or "*" in Regions); nil otherwise.
	Enabled []string
	// AWS is the account's SDK config: the base config with the account's
	// credentials. Unset when Err is.
	AWS aws.Config
	// Err says why the account cannot be read (its role could not be
	// assumed); its shards fail, nothing is deleted there.
	Err error
}

// Own is true for the account of the base credentials.
func (a Account) Own() bool { return a.RoleARN == "" }

// Error is an account that could not be read, and why.
type Error struct {
	AccountID, RoleARN string
	Err                error
}

func (e *Error) Error() string {
	return fmt.Sprintf("assume role %s: %s: %v", e.RoleARN, hint(e.Err), e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// hint names, for people, the usual cause of an AssumeRole failure.
func hint(err error) string {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return "STS did not answer"
	}
	switch api.ErrorCode() {
	case "AccessDenied", "AccessDeniedException":
		return "AssumeRole denied (the role's trust policy, its external ID condition, or an SCP)"
	case "RegionDisabledException":
		return "STS is not activated in the region"
	case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId":
		return "the exporter's own credentials are not valid"
	}
	return "AssumeRole failed"
}

// ErrUnknownAccount is a read for an account outside the configured set:
// it is refused rather than read with other credentials.
var ErrUnknownAccount = errors.New("account is not one the config reads")

// Options say how to resolve accounts.
type Options struct {
	// Base is the SDK config of the exporter's own credentials.
	Base aws.Config
	// OwnAccountID is the account of Base (sts:GetCallerIdentity).
	OwnAccountID string
	// SessionName is sent with every AssumeRole (default
	// "port-aws-exporter-<own account>"): what CloudTrail in a member
	// account shows as the session.
	SessionName string
	// Duration of an assumed session (0: DefaultSessionDuration).
	Duration time.Duration
	// ExpiryWindow is how long before expiry credentials are refreshed
	// (0: DefaultExpiryWindow).
	ExpiryWindow time.Duration
	// Organizations makes the client that lists the organization from an
	// SDK config (nil: the SDK's client).
	Organizations func(aws.Config) OrganizationsAPI
	// DiscoverRegions lists every account's enabled regions at each
	// resolution (the config has regionPolicy entries); an account whose
	// regions include "*" is discovered anyway.
	DiscoverRegions bool
	// EnabledRegions lists an account's enabled regions with its config
	// (nil: EC2 DescribeRegions, which answers the enabled ones only, opt-in
	// regions included once the account opted in).
	EnabledRegions func(context.Context, aws.Config) ([]string, error)
	Logger         *slog.Logger
}

// DefaultSessionDuration is an hour: the longest session a role allows
// unless its MaxSessionDuration is raised (the SDK's own default is 15
// minutes, which would mean four AssumeRoles per account per hour).
const DefaultSessionDuration = time.Hour

// DefaultExpiryWindow refreshes assumed credentials five minutes before
// they expire: longer than any single AWS call, so none is signed with
// credentials that expire on the way.
const DefaultExpiryWindow = 5 * time.Minute

// Resolver resolves the config's accounts. It keeps each role's credential
// cache between resolutions, so a serve that syncs every hour assumes a
// role once per session, not once per sync.
type Resolver struct {
	cfg  *config.AWS
	opts Options
	sts  *sts.Client

	mu    sync.Mutex
	roles map[roleKey]*aws.CredentialsCache
}

type roleKey struct{ arn, externalID string }

// New returns the resolver of cfg (which must be non-nil).
func New(cfg *config.AWS, opts Options) (*Resolver, error) {
	if cfg == nil {
		return nil, errors.New("accounts: no aws block")
	}
	if opts.OwnAccountID == "" {
		return nil, errors.New("accounts: no own account id")
	}
	if opts.SessionName == "" {
		opts.SessionName = "port-aws-exporter-" + opts.OwnAccountID
	}
	if opts.Duration == 0 {
		opts.Duration = DefaultSessionDuration
	}
	if opts.ExpiryWindow == 0 {
		opts.ExpiryWindow = DefaultExpiryWindow
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.EnabledRegions == nil {
		opts.EnabledRegions = describeRegions
	}
	return &Resolver{cfg: cfg, opts: opts, sts: sts.NewFromConfig(opts.Base), roles: map[roleKey]*aws.CredentialsCache{}}, nil
}

// MaxConcurrent is the config's max_concurrent_accounts (0: no bound).
func (r *Resolver) MaxConcurrent() int { return r.cfg.MaxConcurrentAccounts }

// Resolve lists the accounts to read, sorted by ID (the own account first).
// With check, every member account's credentials are fetched now (at most
// once per session: the cache answers until they near expiry), so that an
// account whose role cannot be assumed is known before any shard starts;
// without it (a service's start), credentials are fetched on first use.
// An error means the list itself could not be had (the organization could
// not be listed): nothing should be read or deleted on a guess.
func (r *Resolver) Resolve(ctx context.Context, check bool) ([]Account, error) {
	var members []Account
	switch {
	case r.cfg.Organization != nil:
		listed, err := r.organizationAccounts(ctx)
		if err != nil {
			return nil, err
		}
		members = listed
	default:
		for _, a := range r.cfg.Accounts {
			members = append(members, Account{ID: config.AccountIDOfRole(a.RoleARN), RoleARN: a.RoleARN, Regions: slices.Clone(a.Regions)})
		}
	}
	var out []Account
	ownListed := false
	for _, m := range members {
		if m.ID == r.opts.OwnAccountID {
			// The organization lists the management (or tooling) account
			// too: it is the own account, read with the base credentials
			// when include_own_account, else not at all. An explicit entry
			// for it is read as written (its role).
			if r.cfg.Organization != nil {
				continue
			}
			ownListed = true
		}
		out = append(out, m)
	}
	if r.cfg.OwnAccount() && !ownListed {
		out = append(out, Account{ID: r.opts.OwnAccountID, AWS: r.opts.Base})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Own() != out[j].Own() {
			return out[i].Own()
		}
		return out[i].ID < out[j].ID
	})
	externalID := ""
	if r.cfg.Organization != nil {
		externalID = r.cfg.Organization.ExternalID
	}
	byARN := map[string]string{}
	for _, a := range r.cfg.Accounts {
		byARN[a.RoleARN] = a.ExternalID
	}
	var g errgroup.Group
	g.SetLimit(max(r.cfg.MaxConcurrentAccounts, 8))
	for i := range out {
		a := &out[i]
		if a.Own() {
			continue
		}
		ext := externalID
		if r.cfg.Organization == nil {
			ext = byARN[a.RoleARN]
		}
		cache := r.credentials(a.RoleARN, ext)
		a.AWS = withCredentials(r.opts.Base, cache)
		if !check {
			continue
		}
		g.Go(func() error {
			if _, err := cache.Retrieve(ctx); err != nil {
				a.Err = &Error{AccountID: a.ID, RoleARN: a.RoleARN, Err: err}
				a.AWS = aws.Config{}
				r.opts.Logger.Error("account cannot be read", "account", a.ID, "role", a.RoleARN, "error", a.Err)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.discover(ctx, out)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// credentials returns the role's credential cache, made on first use; the
// AssumeRole call is signed with the base credentials.
func (r *Resolver) credentials(roleARN, externalID string) *aws.CredentialsCache {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := roleKey{roleARN, externalID}
	if c, ok := r.roles[key]; ok {
		return c
	}
	client := r.sts
	provider := stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.opts.SessionName
		o.Duration = r.opts.Duration
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	})
	c := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = r.opts.ExpiryWindow
	})
	r.roles[key] = c
	return c
}

// withCredentials is base read with the account's credentials; an
// ExpiredToken answer invalidates them and is retried (expired.go).
func withCredentials(base aws.Config, cache *aws.CredentialsCache) aws.Config {
	cfg := base.Copy()
	cfg.Credentials = cache
	cfg.APIOptions = append(slices.Clone(base.APIOptions), refreshOnExpiredToken(cache))
	return cfg
}

// MemberRoleARN is the role of name (or path/name) in account, in the
// partition of region (aws, aws-cn, aws-us-gov: taken from the region, as
// the SDK's partitions name them).
func MemberRoleARN(region, accountID, name string) string {
	partition, ok := catalog.PartitionOf(region)
	if !ok {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + accountID + ":role/" + strings.TrimPrefix(name, "/")
}
