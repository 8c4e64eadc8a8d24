package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cc "github.com/aws/aws-sdk-go-v2/service/cloudcontrol"
	"golang.org/x/sync/errgroup"
)

// Defaults for Options. Cloud Control does not publish its limits; they are
// per account and region and shared with every other caller, so each
// region's pace is found from AWS's answers (see adaptiveRate), starting at
// DefaultStartRequestsPerSecond, and the throttling that finds it is
// absorbed by backoff.
const (
	DefaultMaxRetries     = 8
	DefaultBackoffBase    = 250 * time.Millisecond
	DefaultBackoffCap     = 20 * time.Second
	DefaultGetConcurrency = 64
	DefaultPageSize       = 100
	// maxEmptyPages bounds consecutive pages with no resources but a NextToken.
	maxEmptyPages = 100
)

// Options tune a CloudControl reader. Zero values take the defaults above.
type Options struct {
	// RequestsPerSecond is the ceiling of each region's pace, shared by all
	// shards of that region: the pace adapts below it (see adaptiveRate).
	// 0 or +Inf means no ceiling (the default); negative means unpaced
	// (no bucket, no adaptation: tests).
	RequestsPerSecond float64
	// StartRequestsPerSecond is each region's pace before AWS has answered;
	// default DefaultStartRequestsPerSecond (at most the ceiling).
	StartRequestsPerSecond float64
	// FixedPace paces at RequestsPerSecond exactly, without adapting (the
	// reader before adaptive pacing; tests and comparisons).
	FixedPace bool
	// Burst is the token bucket size; default 1 with the adaptive pace (AWS's
	// own bucket has the burst), max(1, RequestsPerSecond) with FixedPace.
	Burst int
	// OnRate, when set, is called with a region's pace whenever it is cut,
	// and at most once a second while it rises: what the reader has found
	// AWS allows there (e.g. for a gauge). Rates gives the same on demand.
	OnRate func(region string, perSecond float64)
	// MaxRetries is how often one call is repeated after throttling or a
	// transient failure before it fails; negative means never. It is the
	// SDK retryer's MaxAttempts − 1 (AWS_MAX_ATTEMPTS does not change it).
	MaxRetries int
	// BackoffBase and BackoffCap bound the SDK's full-jitter exponential
	// backoff: the n-th retry waits a random time in
	// [0, min(cap, base·2ⁿ⁻¹)), throttled or not.
	BackoffBase, BackoffCap time.Duration
	// AdaptivePacing adds the SDK's adaptive retry mode per region
	// (retry.NewAdaptiveMode, botocore's "adaptive"): after a throttled
	// answer its rate is cut (×0.7 of the measured rate) and raised again,
	// CUBIC-like, while calls succeed. For comparisons: it runs on top of
	// the reader's own pace unless RequestsPerSecond is negative.
	AdaptivePacing bool
	// GetConcurrency caps GetResource calls in flight per region, shared by
	// the shards of that region. Below the cap the budget is the region's
	// current pace × the observed GetResource latency × 2 (at least 4),
	// so the pace, not the number of shards at once, bounds the reads.
	GetConcurrency int
	// PageSize is ListResources' MaxResults (1..100); AWS may answer less.
	PageSize int32
	// Observe, when set, is called after every Cloud Control call attempt,
	// retries included (op is "ListResources" or "GetResource"), with the
	// attempt's duration without the pacing wait, e.g. to feed metrics.
	Observe func(op, region string, err error, d time.Duration)
	// Logger receives retries and skipped resources; default slog.Default().
	Logger *slog.Logger
	// ClientOptions are applied to every regional SDK client after the
	// reader's own (region, retryer, pacing middleware), e.g. to set an endpoint.
	ClientOptions []func(*cc.Options)
}

func (o Options) withDefaults() Options {
	if o.RequestsPerSecond == 0 || math.IsNaN(o.RequestsPerSecond) {
		o.RequestsPerSecond = math.Inf(1)
	}
	if o.FixedPace && math.IsInf(o.RequestsPerSecond, 1) {
		o.FixedPace = false // a fixed pace without a rate is no pace at all
	}
	if o.StartRequestsPerSecond <= 0 {
		o.StartRequestsPerSecond = DefaultStartRequestsPerSecond
	}
	if o.RequestsPerSecond > 0 {
		o.StartRequestsPerSecond = min(o.StartRequestsPerSecond, o.RequestsPerSecond)
	}
	if o.Burst <= 0 {
		o.Burst = 1
		if o.FixedPace {
			o.Burst = max(1, int(min(o.RequestsPerSecond, 1e6)))
		}
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = DefaultBackoffCap
	}
	if o.GetConcurrency <= 0 {
		o.GetConcurrency = DefaultGetConcurrency
	}
	if o.PageSize <= 0 || o.PageSize > 100 {
		o.PageSize = DefaultPageSize
	}
	return o
}

// ListOptions tune one List call.
type ListOptions struct {
	// TrustListProperties skips GetResource: resources carry the properties
	// ListResources returned, which for many types are only the identifier.
	TrustListProperties bool
	// Resume starts the listing at a cursor a paused listing returned
	// (nil: from the first page). Readers other than CloudControl list
	// whole shards and ignore it, as they ignore Pause.
	Resume *Cursor
	// Pause, when set, is asked before each page after the first of the
	// call, with the resources this call has listed so far (some of them
	// may still be read and delivered): true stops the listing there, and
	// List returns *PausedError once the pages already listed are
	// delivered. A call always reads at least one page, so a chain of
	// segments always progresses.
	Pause func(listed int) bool
}

// CloudControl reads resources through the Cloud Control API. It is safe for
// concurrent use; every region gets its own SDK client and pacer on first use.
type CloudControl struct {
	cfg  aws.Config
	opts Options

	mu      sync.Mutex
	regions map[string]*regionClient
}

type regionClient struct {
	*regionPacer
	api *cc.Client
}

// NewCloudControl returns a reader using cfg's credentials and endpoint
// settings (AWS_ENDPOINT_URL_CLOUDCONTROL and the like, as loaded by
// config.LoadDefaultConfig); the region of each call comes from the shard.
func NewCloudControl(cfg aws.Config, opts Options) *CloudControl {
	return &CloudControl{cfg: cfg, opts: opts.withDefaults(), regions: map[string]*regionClient{}}
}

func (c *CloudControl) client(region string) *regionClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := c.regions[region]; rc != nil {
		return rc
	}
	rc := &regionClient{regionPacer: c.opts.newRegionPacer("", region, isGetResource)}
	optFns := append([]func(*cc.Options){func(o *cc.Options) {
		o.Region = region
		o.Retryer = rc.retryer
		o.RetryMaxAttempts = 0 // keep MaxRetries the budget whatever AWS_MAX_ATTEMPTS says
		o.APIOptions = append(o.APIOptions, rc.mw.addTo)
	}}, c.opts.ClientOptions...)
	rc.api = cc.NewFromConfig(c.cfg, optFns...)
	c.regions[region] = rc
	return rc
}

// isGetResource: Cloud Control's per-resource read, which holds a slot of
// the region's GetResource budget.
func isGetResource(op string) bool { return op == "GetResource" }

// Rates reports each region's pace so far (regions this reader has called),
// sorted by region: what it found AWS allows, for the log line at the end
// of a sync.
func (c *CloudControl) Rates() []RegionRate {
	c.mu.Lock()
	out := make([]RegionRate, 0, len(c.regions))
	for _, rc := range c.regions {
		out = append(out, rc.rate())
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b RegionRate) int { return strings.Compare(a.Region, b.Region) })
	return out
}

// LogRates logs each region's pace at info level ("cloud control pace"),
// e.g. at the end of a sync.
func (c *CloudControl) LogRates(logger *slog.Logger) {
	if logger == nil {
		logger = c.opts.logger()
	}
	for _, r := range c.Rates() {
		logger.Info("cloud control pace", slog.String("region", r.Region),
			slog.Float64("requests_per_second", math.Round(r.PerSecond*10)/10),
			slog.Int("throttled", r.Throttled), slog.Int("cuts", r.Cuts))
	}
}

// Get reads one resource of the shard's region and kind (the account is the
// one of the reader's credentials). errors.Is(err, ErrNotFound) when it does
// not exist; other failures are *ShardError naming the shard.
func (c *CloudControl) Get(ctx context.Context, shard Shard, identifier string) (Resource, error) {
	rc := c.client(shard.Region)
	res, err := c.get(ctx, rc, shard.Kind, identifier)
	if err != nil {
		if errors.Is(err, ErrNotFound) || ctx.Err() != nil {
			return Resource{}, err
		}
		return Resource{}, &ShardError{Shard: Shard{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind}, Reason: classify(err), Err: err}
	}
	res.AccountID = shard.AccountID
	return res, nil
}

func (c *CloudControl) get(ctx context.Context, rc *regionClient, kind, identifier string) (Resource, error) {
	out, err := rc.api.GetResource(ctx, &cc.GetResourceInput{TypeName: &kind, Identifier: &identifier})
	if err != nil {
		err = fmt.Errorf("get %s %q in %s: %w", kind, identifier, rc.region, err)
		if isNotFound(err) {
			return Resource{}, &notFoundError{err: err}
		}
		return Resource{}, err
	}
	if out.ResourceDescription == nil {
		return Resource{}, fmt.Errorf("get %s %q in %s: answer has no ResourceDescription", kind, identifier, rc.region)
	}
	props, err := decodeProperties(aws.ToString(out.ResourceDescription.Properties))
	if err != nil {
		return Resource{}, fmt.Errorf("get %s %q in %s: %w", kind, identifier, rc.region, err)
	}
	id := aws.ToString(out.ResourceDescription.Identifier)
	if id == "" {
		id = identifier
	}
	return Resource{Region: rc.region, Kind: kind, Identifier: id, Properties: props}, nil
}

// List streams every resource of a shard to fn. fn is called from one
// goroutine at a time, in no particular order when GetResource runs
// concurrently; an error from fn stops the listing and is returned as is
// (wrapped). A resource that vanishes between list and get is skipped.
// A Cloud Control failure is returned as *ShardError; the resources already
// passed to fn were real, but the shard is incomplete.
func (c *CloudControl) List(ctx context.Context, shard Shard, opts ListOptions, fn func(Resource) error) error {
	rc := c.client(shard.Region)
	models := shard.ResourceModels
	if len(models) == 0 {
		models = []string{""}
	}
	models, token, err := resumeModels(models, opts.Resume)
	if err != nil {
		return err
	}
	pages, listed := 0, 0
	for i, model := range models {
		if i > 0 && opts.Pause != nil && pages > 0 && opts.Pause(listed) {
			return &PausedError{Cursor: Cursor{Model: model}, Pages: pages}
		}
		n, paused, err := c.listModel(ctx, rc, shard, model, token, pages == 0, &listed, opts, fn)
		pages += n
		if err != nil {
			return err
		}
		if paused != nil {
			return &PausedError{Cursor: *paused, Pages: pages}
		}
		token = ""
	}
	return nil
}

// consumerError marks an error returned by the caller's fn.
type consumerError struct{ err error }

func (e *consumerError) Error() string { return e.err.Error() }
func (e *consumerError) Unwrap() error { return e.err }

// listModel lists one ResourceModel from token ("" for its first page). It
// returns the pages read and, when opts.Pause stopped it, the cursor of the
// first page not read; first says no page of this List call was read yet
// (that one is never paused before).
func (c *CloudControl) listModel(ctx context.Context, rc *regionClient, shard Shard, model, token string, first bool, listed *int, opts ListOptions, fn func(Resource) error) (int, *Cursor, error) {
	g, gctx := errgroup.WithContext(ctx)
	// The pager records a pause and ends without error, so that the getters
	// of the pages already listed finish instead of being cancelled.
	var (
		pages  int
		paused *Cursor
	)
	pg := pager{model: model, token: token, first: first, pause: opts.Pause, pages: &pages, listed: listed, paused: &paused}
	var (
		deliverMu sync.Mutex
		refused   error // fn's error: fn is never called again after it fails
	)
	deliver := func(res Resource) error {
		res.AccountID = shard.AccountID
		deliverMu.Lock()
		defer deliverMu.Unlock()
		if refused != nil {
			return refused
		}
		if err := fn(res); err != nil {
			refused = &consumerError{err: err}
			return refused
		}
		return nil
	}

	if opts.TrustListProperties {
		g.Go(func() error {
			return c.paginate(gctx, rc, shard, pg, func(id, listProps string) error {
				props, err := decodeProperties(listProps)
				if err != nil {
					return fmt.Errorf("list %s in %s: resource %q: %w", shard.Kind, shard.Region, id, err)
				}
				return deliver(Resource{Region: shard.Region, Kind: shard.Kind, Identifier: id, Properties: props})
			})
		})
	} else {
		// The pager runs ahead of the getters by up to two pages, so listing
		// the next page overlaps with reading the current one.
		ids := make(chan string, 2*int(c.opts.PageSize))
		g.SetLimit(c.opts.GetConcurrency + 2) // the getters below, the pager and the loop starting the getters
		g.Go(func() error {
			defer close(ids)
			return c.paginate(gctx, rc, shard, pg, func(id, _ string) error {
				select {
				case ids <- id:
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			})
		})
		// One goroutine per resource, each holding one of the region's
		// GetResource slots (see getSlots, taken by the pacing middleware)
		// only for its call attempts, so a shard
		// whose consumer is slow does not hold back the region's other
		// shards. Besides the pager and this loop, a shard runs at most
		// GetConcurrency of them, which bounds the resources it holds while
		// they wait for delivery.
		g.Go(func() error {
			for id := range ids {
				g.Go(func() error {
					res, err := c.get(gctx, rc, shard.Kind, id)
					if errors.Is(err, ErrNotFound) {
						c.opts.logger().Debug("resource vanished between list and get",
							slog.String("shard", shard.String()), slog.String("identifier", id))
						return nil
					}
					if err != nil {
						return err
					}
					return deliver(res)
				})
			}
			return nil
		})
	}
	// errgroup keeps the first error: the cause, not the cancellations it
	// set off in the other goroutines.
	err := g.Wait()
	if err == nil {
		return pages, paused, nil
	}
	var ce *consumerError
	if errors.As(err, &ce) {
		return pages, nil, fmt.Errorf("read %s: %w", shard, ce.err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return pages, nil, fmt.Errorf("read %s: %w", shard, ctxErr)
	}
	var se *ShardError
	if errors.As(err, &se) {
		return pages, nil, err
	}
	reason := classify(err)
	if errors.Is(err, ErrPagination) {
		reason = ReasonOther
	}
	return pages, nil, &ShardError{Shard: shard, Reason: reason, Err: err}
}

// pager is where one paginate call starts and how it may pause.
type pager struct {
	model, token string
	// first: no page of the List call was read yet; the first is never paused before.
	first bool
	pause func(listed int) bool
	pages *int
	// listed counts the resources of the List call's pages so far.
	listed *int
	paused **Cursor
}

// paginate calls each(identifier, properties) for every listed resource,
// page by page through the SDK's paginator. The paginator's own
// StopOnDuplicateToken ends quietly, and only on a token equal to the one
// before; here any NextToken seen before, or too many empty pages in a row,
// is an error: a listing that looks complete must be complete.
//
// A call resuming from a token whose first page is refused as invalid
// reports ErrTokenExpired: Cloud Control's answer to a token too old.
func (c *CloudControl) paginate(ctx context.Context, rc *regionClient, shard Shard, pg pager, each func(id, props string) error) error {
	model := pg.model
	in := &cc.ListResourcesInput{TypeName: aws.String(shard.Kind), MaxResults: aws.Int32(c.opts.PageSize)}
	if pg.token != "" {
		in.NextToken = aws.String(pg.token)
	}
	where := fmt.Sprintf("list %s in %s", shard.Kind, shard.Region)
	if model != "" {
		in.ResourceModel = aws.String(model)
		where += " with ResourceModel " + model
	}
	pages := cc.NewListResourcesPaginator(rc.api, in)
	seenTokens := map[string]bool{}
	emptyPages := 0
	for page := 1; pages.HasMorePages(); page++ {
		if (page > 1 || !pg.first) && pg.pause != nil && pg.pause(*pg.listed) {
			// Stop before this page: the token that asks for it is the cursor.
			*pg.paused = &Cursor{Model: model, NextToken: aws.ToString(in.NextToken)}
			return nil
		}
		out, err := pages.NextPage(ctx)
		if err != nil {
			if page == 1 && pg.token != "" && classify(err) == ReasonInvalidRequest {
				return &ShardError{Shard: shard, Reason: ReasonInvalidRequest, Err: fmt.Errorf("%s, resumed page: %w: %w", where, ErrTokenExpired, err)}
			}
			return fmt.Errorf("%s, page %d: %w", where, page, err)
		}
		*pg.pages++
		*pg.listed += len(out.ResourceDescriptions)
		for _, d := range out.ResourceDescriptions {
			id := aws.ToString(d.Identifier)
			if id == "" {
				return fmt.Errorf("%s, page %d: a resource without identifier", where, page)
			}
			if err := each(id, aws.ToString(d.Properties)); err != nil {
				return err
			}
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return nil
		}
		in.NextToken = aws.String(next)
		if seenTokens[next] {
			return fmt.Errorf("%s, page %d: NextToken repeats an earlier one: %w", where, page, ErrPagination)
		}
		seenTokens[next] = true
		if len(out.ResourceDescriptions) == 0 {
			emptyPages++
			if emptyPages >= maxEmptyPages {
				return fmt.Errorf("%s: %d empty pages in a row: %w", where, emptyPages, ErrPagination)
			}
		} else {
			emptyPages = 0
		}
	}
	return nil
}
