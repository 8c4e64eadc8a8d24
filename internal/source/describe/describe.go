// Package describe reads the five kinds Port's original AWS exporter read
// through the services' own Describe APIs instead of Cloud Control, and gives
// each resource the document that exporter gave its jq mappings, so that
// configs written for it (Port's published EC2, load balancer and ElastiCache
// mappings read .State.Name, .Placement.AvailabilityZone, .Listeners,
// .CacheClusterId, ...) work unchanged:
//
//	AWS::EC2::Instance                         DescribeInstances: the instance
//	AWS::ElasticLoadBalancingV2::LoadBalancer  DescribeLoadBalancers: the load balancer, with
//	                                           Attributes, Listeners and Tags added
//	AWS::ACM::Certificate                      ListCertificates, then DescribeCertificate: the certificate
//	AWS::CloudFormation::Stack                 DescribeStacks: the stack, with StackResources
//	                                           (DescribeStackResources) and TemplateBody (GetTemplate)
//	AWS::ElastiCache::CacheCluster             DescribeCacheClusters: the cluster, with Tags
//	                                           (ListTagsForResource)
//
// (internal/config/COMPATIBILITY.md has the original's calls and every
// difference.) A Reader implements source.Reader: List reads a whole shard,
// Get one resource by the identifier Cloud Control uses for the kind
// (InstanceId, LoadBalancerArn, StackId, the cache cluster id; ACM has no
// Cloud Control type and uses the certificate ARN), also accepting what the
// original's event rules sent (a load balancer's or a stack's name). Get
// reports source.ErrNotFound only on the service's own not-found answer
// (InvalidInstanceID.NotFound, LoadBalancerNotFound,
// ResourceNotFoundException, a ValidationError that the stack "does not
// exist", CacheClusterNotFound) or a stack in DELETE_COMPLETE; a terminated
// instance is found, and the selector decides. Calls are paced and retried
// as Cloud Control's are (source.Paced, per service and region), and the
// per-resource calls hold a slot of the region's read budget.
package describe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/errgroup"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// kind is how one resource type is read.
type kind struct {
	// permissions are the IAM actions List and Get need.
	permissions []string
	// list calls each for every resource of the region (concurrently: the
	// lister serialises delivery).
	list func(ctx context.Context, c *clients, l *lister) error
	// get reads one resource; a not-found answer is returned through
	// source.NotFound.
	get func(ctx context.Context, c *clients, identifier string) (item, error)
}

// item is one resource read: its Cloud Control-style identifier and its document.
type item struct {
	id  string
	doc map[string]any
}

var kinds = map[string]kind{
	KindEC2Instance:  ec2Kind,
	KindLoadBalancer: elbKind,
	KindCertificate:  acmKind,
	KindStack:        stackKind,
	KindCacheCluster: cacheKind,
}

// The kinds this package reads.
const (
	KindEC2Instance  = "AWS::EC2::Instance"
	KindLoadBalancer = "AWS::ElasticLoadBalancingV2::LoadBalancer"
	KindCertificate  = "AWS::ACM::Certificate"
	KindStack        = "AWS::CloudFormation::Stack"
	KindCacheCluster = "AWS::ElastiCache::CacheCluster"
)

// Kinds lists the kinds this package reads, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has reports whether kind has a Describe reader.
func Has(kind string) bool {
	_, ok := kinds[kind]
	return ok
}

// Permissions returns the read-only IAM actions that reading kind through
// its Describe reader needs (nil for a kind this package does not read).
func Permissions(kind string) []string {
	k, ok := kinds[kind]
	if !ok {
		return nil
	}
	return slices.Clone(k.permissions)
}

// Reader reads the Describe kinds of one account (the credentials of its
// aws.Config). It is safe for concurrent use.
type Reader struct {
	cfg   aws.Config
	opts  source.Options
	paced *source.Paced

	mu      sync.Mutex
	clients map[string]*clients // by region
}

// New returns a reader with cfg's credentials and endpoint settings
// (AWS_ENDPOINT_URL_EC2 and the like); the region of each call is the
// shard's. opts are the Cloud Control reader's (pace ceiling, retries,
// read budget, Observe, Logger); ClientOptions, being Cloud Control's, are
// not used.
func New(cfg aws.Config, opts source.Options) *Reader {
	return &Reader{cfg: cfg, opts: opts, paced: source.NewPaced(opts), clients: map[string]*clients{}}
}

// NewReader is New as a source.Reader, the constructor shape the exporter
// composes per account.
func NewReader(cfg aws.Config, opts source.Options) source.Reader { return New(cfg, opts) }

var _ source.Reader = (*Reader)(nil)

// Rates reports the pace each (service, region) settled at.
func (r *Reader) Rates() []source.RegionRate { return r.paced.Rates() }

// LogRates logs each (service, region)'s pace ("aws pace").
func (r *Reader) LogRates(logger *slog.Logger) { r.paced.LogRates(logger) }

func (r *Reader) regionClients(region string) *clients {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clients[region]
	if c == nil {
		c = &clients{cfg: r.cfg, paced: r.paced, region: region}
		r.clients[region] = c
	}
	return c
}

func (r *Reader) kind(shard source.Shard) (kind, error) {
	k, ok := kinds[shard.Kind]
	if !ok {
		return kind{}, &source.ShardError{Shard: shard, Reason: source.ReasonTypeNotFound,
			Err: fmt.Errorf("%s has no Describe reader (those that do: %v)", shard.Kind, Kinds())}
	}
	return k, nil
}

// List streams every resource of the shard to fn, from one goroutine at a
// time. Options.TrustListProperties changes nothing: the Describe
// documents are always whole. A resource that vanishes between the listing
// and a per-resource call is skipped; any other failure is a
// *source.ShardError (the resources already passed were real, but the
// shard is incomplete).
func (r *Reader) List(ctx context.Context, shard source.Shard, _ source.ListOptions, fn func(source.Resource) error) error {
	k, err := r.kind(shard)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.getConcurrency() + 1) // the per-resource calls and the pager
	l := &lister{ctx: gctx, g: g, shard: shard, fn: fn, logger: r.logger()}
	g.Go(func() error { return k.list(gctx, r.regionClients(shard.Region), l) })
	err = g.Wait()
	if err == nil {
		return nil
	}
	var ce *consumerError
	if errors.As(err, &ce) {
		return fmt.Errorf("read %s: %w", shard, ce.err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("read %s: %w", shard, ctxErr)
	}
	var se *source.ShardError
	if errors.As(err, &se) {
		return err
	}
	return source.NewShardError(shard, fmt.Errorf("list %s in %s: %w", shard.Kind, shard.Region, err))
}

// Get reads one resource of the shard's region and kind by identifier.
// errors.Is(err, source.ErrNotFound) only when the service said it does
// not exist; other failures are *source.ShardError naming the shard.
func (r *Reader) Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error) {
	k, err := r.kind(shard)
	if err != nil {
		return source.Resource{}, err
	}
	it, err := k.get(ctx, r.regionClients(shard.Region), identifier)
	if err != nil {
		err = fmt.Errorf("get %s %q in %s: %w", shard.Kind, identifier, shard.Region, err)
		if errors.Is(err, source.ErrNotFound) || ctx.Err() != nil {
			return source.Resource{}, err
		}
		return source.Resource{}, source.NewShardError(source.Shard{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind}, err)
	}
	return source.Resource{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind, Identifier: it.id, Properties: it.doc}, nil
}

func (r *Reader) getConcurrency() int {
	if r.opts.GetConcurrency > 0 {
		return r.opts.GetConcurrency
	}
	return source.DefaultGetConcurrency
}

func (r *Reader) logger() *slog.Logger {
	if r.opts.Logger != nil {
		return r.opts.Logger
	}
	return slog.Default()
}

// lister delivers one shard's resources: in order from the pager, or from
// per-resource goroutines (enrich), one delivery at a time.
type lister struct {
	ctx    context.Context
	g      *errgroup.Group
	shard  source.Shard
	logger *slog.Logger

	mu      sync.Mutex
	fn      func(source.Resource) error
	refused error // fn's error: fn is never called again after it fails
}

// consumerError marks an error returned by the caller's fn.
type consumerError struct{ err error }

func (e *consumerError) Error() string { return e.err.Error() }
func (e *consumerError) Unwrap() error { return e.err }

func (l *lister) deliver(it item) error {
	if it.id == "" {
		return fmt.Errorf("list %s in %s: a resource without identifier", l.shard.Kind, l.shard.Region)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused != nil {
		return l.refused
	}
	res := source.Resource{AccountID: l.shard.AccountID, Region: l.shard.Region, Kind: l.shard.Kind, Identifier: it.id, Properties: it.doc}
	if err := l.fn(res); err != nil {
		l.refused = &consumerError{err: err}
		return l.refused
	}
	return nil
}

// enrich completes one listed resource with its per-resource calls in a
// goroutine of the shard (bounded by the read budget) and delivers it; a
// resource that vanished meanwhile is skipped.
func (l *lister) enrich(id string, complete func(ctx context.Context) (item, error)) {
	l.g.Go(func() error {
		it, err := complete(l.ctx)
		if errors.Is(err, source.ErrNotFound) {
			l.logger.Debug("resource vanished while it was read",
				slog.String("shard", l.shard.String()), slog.String("identifier", id))
			return nil
		}
		if err != nil {
			return err
		}
		return l.deliver(it)
	})
}
