// Package accountinfo reads the two account kinds of Ocean's AWS
// integrations behind the source.Reader contract, so that a
// port-app-config.yml naming them syncs like any other kind (shards,
// ownership, stale deletion, events):
//
//   - AWS::Organizations::Account (Organizations): organizations:ListAccounts,
//     one resource per account of the organization, whose document is the
//     account as Ocean's AWS integration gives it: the ListAccounts fields
//     (Id, Arn, Email, Name, Status, State, JoinedMethod, JoinedTimestamp),
//     JoinedTimestamp written the way Ocean's JSON conversion of boto3's
//     datetime writes it ("2024-01-02 03:04:05.678000+00:00"; Ocean's default
//     mapping turns the space into a T). Only the organization's management
//     account or a delegated administrator may call ListAccounts: AccessDenied
//     fails the shard with an error that says so (and so withholds every
//     deletion). An account that is in no organization
//     (AWSOrganizationsNotInUseException, a definite answer) lists itself as
//     {"Id", "Name": "No name found"}, as Ocean does.
//   - AWS::Account::Info (AccountInfo): the account being read, as Ocean's AWS
//     v3 integration gives it: {"Type": "AWS::Account::Info", "Properties":
//     {"Id", "Name"}}; the name comes from organizations:DescribeAccount when
//     the credentials may call it, else it is "Account <id>" (Ocean's name
//     for an account whose name it cannot read).
//
// The resource identifier of both is the 12-digit account id. Calls go
// through the SDK's standard retryer with the budget and backoff of
// source.Options; errors are *source.ShardError like Cloud Control's, and
// Get's not-found (AccountNotFoundException, or an account other than the
// one read) matches source.ErrNotFound.
package accountinfo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// The kinds this package reads.
const (
	KindOrganizationsAccount = "AWS::Organizations::Account"
	KindAccountInfo          = "AWS::Account::Info"
)

// Constructors are the readers of this package by kind, each built from one
// account's aws.Config: what a per-account source registers beside Cloud
// Control (source.ByKind).
var Constructors = map[string]func(aws.Config, source.Options) source.Reader{
	KindOrganizationsAccount: func(cfg aws.Config, opts source.Options) source.Reader { return NewOrganizations(cfg, opts) },
	KindAccountInfo:          func(cfg aws.Config, opts source.Options) source.Reader { return NewAccountInfo(cfg, opts) },
}

// organizationsAPI is the part of *organizations.Client the readers use.
type organizationsAPI interface {
	organizations.ListAccountsAPIClient
	DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, opts ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
}

// clients holds one Organizations client per region (the service is global;
// the region only picks the partition's endpoint), with the SDK's standard
// retryer configured from source.Options.
type clients struct {
	cfg    aws.Config
	opts   source.Options
	mu     sync.Mutex
	byName map[string]organizationsAPI
}

func newClients(cfg aws.Config, opts source.Options) *clients {
	if opts.MaxRetries == 0 {
		opts.MaxRetries = source.DefaultMaxRetries
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.BackoffCap <= 0 {
		opts.BackoffCap = source.DefaultBackoffCap
	}
	return &clients{cfg: cfg, opts: opts, byName: map[string]organizationsAPI{}}
}

func (c *clients) client(region string) organizationsAPI {
	c.mu.Lock()
	defer c.mu.Unlock()
	if api := c.byName[region]; api != nil {
		return api
	}
	api := organizations.NewFromConfig(c.cfg, func(o *organizations.Options) {
		o.Region = region
		o.RetryMaxAttempts = 0 // the budget below, whatever AWS_MAX_ATTEMPTS says
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = c.opts.MaxRetries + 1
			so.MaxBackoff = c.opts.BackoffCap
		})
	})
	c.byName[region] = api
	return api
}

func (c *clients) logger() *slog.Logger {
	if c.opts.Logger != nil {
		return c.opts.Logger
	}
	return slog.Default()
}

// Organizations reads AWS::Organizations::Account.
type Organizations struct{ c *clients }

// NewOrganizations returns the reader of the organization's accounts, with
// cfg's credentials and endpoint settings (AWS_ENDPOINT_URL_ORGANIZATIONS).
func NewOrganizations(cfg aws.Config, opts source.Options) *Organizations {
	return &Organizations{c: newClients(cfg, opts)}
}

// List passes every account of the organization to fn.
func (o *Organizations) List(ctx context.Context, shard source.Shard, _ source.ListOptions, fn func(source.Resource) error) error {
	pages := organizations.NewListAccountsPaginator(o.c.client(shard.Region), &organizations.ListAccountsInput{})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			if notInOrganization(err) {
				// A definite answer: the account belongs to no organization;
				// Ocean then knows only the account it runs in.
				return deliver(shard, fn, source.Resource{Identifier: shard.AccountID,
					Properties: map[string]any{"Id": shard.AccountID, "Name": "No name found"}})
			}
			return shardError(ctx, shard, fmt.Errorf("organizations:ListAccounts, page %d: %w", page, err))
		}
		for _, a := range out.Accounts {
			doc := accountDocument(a)
			if err := deliver(shard, fn, source.Resource{Identifier: aws.ToString(a.Id), Properties: doc}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get reads one account of the organization (organizations:DescribeAccount).
func (o *Organizations) Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error) {
	out, err := o.c.client(shard.Region).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(identifier)})
	switch {
	case err == nil && out.Account != nil:
		return resource(shard, source.Resource{Identifier: identifier, Properties: accountDocument(*out.Account)}), nil
	case err == nil:
		return source.Resource{}, shardError(ctx, shard, fmt.Errorf("organizations:DescribeAccount %q: the answer has no account", identifier))
	case notInOrganization(err):
		if identifier == shard.AccountID {
			return resource(shard, source.Resource{Identifier: identifier,
				Properties: map[string]any{"Id": identifier, "Name": "No name found"}}), nil
		}
		return source.Resource{}, notFound(fmt.Errorf("account %s: account %s is in no organization: %w", identifier, shard.AccountID, err))
	case hasCode(err, "AccountNotFoundException"):
		return source.Resource{}, notFound(fmt.Errorf("organizations:DescribeAccount %q: %w", identifier, err))
	}
	return source.Resource{}, shardError(ctx, shard, fmt.Errorf("organizations:DescribeAccount %q: %w", identifier, err))
}

// AccountInfo reads AWS::Account::Info: the account of the credentials.
type AccountInfo struct{ c *clients }

// NewAccountInfo returns the reader of the account being read.
func NewAccountInfo(cfg aws.Config, opts source.Options) *AccountInfo {
	return &AccountInfo{c: newClients(cfg, opts)}
}

// List passes the one document of the shard's account to fn.
func (a *AccountInfo) List(ctx context.Context, shard source.Shard, _ source.ListOptions, fn func(source.Resource) error) error {
	res, err := a.read(ctx, shard)
	if err != nil {
		return err
	}
	return deliver(shard, fn, res)
}

// Get returns the shard's account; any other account is not read here,
// which is definite: this reader has exactly one resource.
func (a *AccountInfo) Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error) {
	if identifier != shard.AccountID {
		return source.Resource{}, notFound(fmt.Errorf("%s %q: this reader reads account %s only", KindAccountInfo, identifier, shard.AccountID))
	}
	res, err := a.read(ctx, shard)
	if err != nil {
		return source.Resource{}, err
	}
	return resource(shard, res), nil
}

func (a *AccountInfo) read(ctx context.Context, shard source.Shard) (source.Resource, error) {
	if shard.AccountID == "" {
		return source.Resource{}, &source.ShardError{Shard: shard, Reason: source.ReasonOther, Err: errors.New("no account id")}
	}
	name := "Account " + shard.AccountID
	out, err := a.c.client(shard.Region).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(shard.AccountID)})
	switch {
	case err == nil && out.Account != nil && aws.ToString(out.Account.Name) != "":
		name = aws.ToString(out.Account.Name)
	case err == nil:
	case notInOrganization(err), hasCode(err, "AccessDeniedException", "AccessDenied", "AccountNotFoundException"):
		// Only the management account or a delegated administrator may read
		// an account's name; the others get Ocean's name for it.
		a.c.logger().Debug("account name not readable; using the account id", "account", shard.AccountID, "error", err.Error())
	default:
		return source.Resource{}, shardError(ctx, shard, fmt.Errorf("organizations:DescribeAccount %s (the account's name): %w", shard.AccountID, err))
	}
	return source.Resource{Identifier: shard.AccountID, Properties: map[string]any{
		"Type":       KindAccountInfo,
		"Properties": map[string]any{"Id": shard.AccountID, "Name": name},
	}}, nil
}

// accountDocument is the account as boto3 gives it and Ocean serializes it:
// the fields AWS returned, the timestamp as Python writes a UTC datetime.
func accountDocument(a types.Account) map[string]any {
	doc := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			doc[k] = v
		}
	}
	set("Id", aws.ToString(a.Id))
	set("Arn", aws.ToString(a.Arn))
	set("Email", aws.ToString(a.Email))
	set("Name", aws.ToString(a.Name))
	set("Status", string(a.Status))
	set("State", string(a.State))
	set("JoinedMethod", string(a.JoinedMethod))
	if a.JoinedTimestamp != nil {
		doc["JoinedTimestamp"] = pythonDatetime(*a.JoinedTimestamp)
	}
	return doc
}

// pythonDatetime writes t as str() of Python's timezone-aware UTC datetime
// does: microseconds only when there are any.
func pythonDatetime(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

func resource(shard source.Shard, r source.Resource) source.Resource {
	r.AccountID, r.Region, r.Kind = shard.AccountID, shard.Region, shard.Kind
	return r
}

func deliver(shard source.Shard, fn func(source.Resource) error, r source.Resource) error {
	if err := fn(resource(shard, r)); err != nil {
		return fmt.Errorf("read %s: %w", shard, err)
	}
	return nil
}

func hasCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}

func notInOrganization(err error) bool { return hasCode(err, "AWSOrganizationsNotInUseException") }

// notFoundError matches source.ErrNotFound and keeps the AWS error.
type notFoundError struct{ err error }

func (e *notFoundError) Error() string   { return e.err.Error() }
func (e *notFoundError) Unwrap() []error { return []error{source.ErrNotFound, e.err} }

func notFound(err error) error { return &notFoundError{err: err} }

// shardError classifies a failed call. AccessDenied names who may call
// Organizations; throttling past the retry budget stays transient.
func shardError(ctx context.Context, shard source.Shard, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("read %s: %w", shard, ctx.Err())
	}
	reason := source.ReasonOther
	switch {
	case hasCode(err, "AccessDeniedException", "AccessDenied", "AccessDeniedForDependencyException"):
		reason = source.ReasonAccessDenied
		err = fmt.Errorf("%w (only the organization's management account, or a delegated administrator for AWS Organizations, "+
			"may list the organization's accounts: run this kind with those credentials, or leave it out)", err)
	case hasCode(err, "TooManyRequestsException", "ThrottlingException"):
		reason = source.ReasonThrottled
	case hasCode(err, "InvalidInputException"):
		reason = source.ReasonInvalidRequest
	}
	return &source.ShardError{Shard: shard, Reason: reason, Err: err}
}

var (
	_ source.Reader = (*Organizations)(nil)
	_ source.Reader = (*AccountInfo)(nil)
)
