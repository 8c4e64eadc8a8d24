// Package s3region reads AWS::S3::Bucket through Cloud Control and gives
// every bucket its real region.
//
// S3 bucket names are global and Cloud Control lists every bucket of the
// account in every region, reading each from wherever it is asked. Read as
// any other kind, a config that syncs S3 in three regions read and wrote
// every bucket three times, each time under another shard's name and with
// the listing region as the bucket's, and whichever shard wrote last owned
// the entity. Here each bucket belongs to exactly one shard:
//
//   - its own region's (GetBucketLocation, once per bucket: the answer is
//     cached for LocationTTL), when the config syncs S3 there;
//   - otherwise the home shard's, the first region the config syncs S3 in
//     (so a config that names only its default region keeps every bucket,
//     as before); a bucket whose location cannot be read (AccessDenied) is
//     the home shard's too.
//
// A shard lists the bucket names (ListResources, without GetResource),
// keeps those it owns, and reads only those (GetResource), so a full sync
// reads every bucket once instead of once per region. Each resource carries
// its real region. Stale deletion stays per shard and sound: a shard's
// listing is complete for the buckets it owns, an entity owned by a shard is
// one only that shard writes, and a bucket a shard does not own is never
// reported as gone: Get of a bucket another shard owns fails (the event
// named the wrong region) instead of answering not found, so no deletion
// can follow from it. Each shard lists Cloud Control itself (a listing shared
// between shards could predate an entity an event wrote since, and prove
// its deletion).
package s3region

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/port-labs/port-aws-exporter/internal/identity"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Kind is the kind this package reads.
const Kind = "AWS::S3::Bucket"

// LocationTTL is how long a bucket's region is trusted: longer than one
// full sync, so that the shards of a sync ask once per bucket, and short
// enough that a bucket deleted and created again elsewhere under the same
// name moves within minutes.
const LocationTTL = 15 * time.Minute

// Permissions are the IAM actions reading buckets needs besides Cloud
// Control's and the S3 read actions behind AWS::S3::Bucket.
var Permissions = []string{"s3:GetBucketLocation"}

// Options configure a Reader.
type Options struct {
	// Regions returns, for an account, the regions the config syncs S3
	// in, in the config's order: the first is the home shard's.
	Regions func(accountID string) []string
	// Source are the pacing options (source.Paced) of GetBucketLocation
	// calls; Logger is used for the buckets whose location is unknown.
	Source source.Options
	// S3Options are applied to the S3 client after the reader's own
	// (e.g. UsePathStyle for an emulator).
	S3Options []func(*s3.Options)
}

// Reader is the AWS::S3::Bucket reader of one account. It is safe for
// concurrent use.
type Reader struct {
	cc    source.Reader
	cfg   aws.Config
	opts  Options
	paced *source.Paced
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*s3.Client // by partition
	locations map[string]location   // by bucket name
	lookups   singleflight.Group
}

type location struct {
	region string // "" when unknown (access denied)
	gone   bool   // NoSuchBucket
	at     time.Time
}

// New returns the bucket reader of the account of cfg, over that account's
// Cloud Control reader cc.
func New(cfg aws.Config, cc source.Reader, opts Options) *Reader {
	return &Reader{cc: cc, cfg: cfg, opts: opts, paced: source.NewPaced(opts.Source), now: time.Now,
		clients: map[string]*s3.Client{}, locations: map[string]location{}}
}

var _ source.Reader = (*Reader)(nil)

// Paced is the pacing of the reader's GetBucketLocation calls (for Rates).
func (r *Reader) Paced() *source.Paced { return r.paced }

// owner is the region whose shard owns a bucket located in region ("":
// unknown). Without the config's regions (Options.Regions unset or empty)
// a bucket is its own region's, and one of unknown location the asking
// shard's.
func (r *Reader) owner(accountID, region, asking string) string {
	var regions []string
	if r.opts.Regions != nil {
		regions = r.opts.Regions(accountID)
	}
	switch {
	case len(regions) == 0:
		return regionOr(region, asking)
	case region != "" && slices.Contains(regions, region):
		return region
	}
	return regions[0]
}

// List streams the buckets the shard owns, each with its real region.
func (r *Reader) List(ctx context.Context, shard source.Shard, opts source.ListOptions, fn func(source.Resource) error) error {
	var listed []source.Resource
	err := r.cc.List(ctx, shard, source.ListOptions{TrustListProperties: true}, func(res source.Resource) error {
		listed = append(listed, res)
		return nil
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	var (
		deliverMu sync.Mutex
		refused   error
	)
	deliver := func(res source.Resource) error {
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
	for _, res := range listed {
		g.Go(func() error {
			loc, err := r.location(gctx, shard, res.Identifier)
			if err != nil {
				return err
			}
			if loc.gone || r.owner(shard.AccountID, loc.region, shard.Region) != shard.Region {
				return nil
			}
			if !opts.TrustListProperties {
				res, err = r.cc.Get(gctx, shard, res.Identifier)
				if errors.Is(err, source.ErrNotFound) {
					return nil // gone between the listing and the read
				}
				if err != nil {
					return err
				}
			}
			res.Region = regionOr(loc.region, shard.Region)
			return deliver(res)
		})
	}
	err = g.Wait()
	var ce *consumerError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return fmt.Errorf("read %s: %w", shard, ce.err)
	case ctx.Err() != nil:
		return fmt.Errorf("read %s: %w", shard, ctx.Err())
	}
	var se *source.ShardError
	if errors.As(err, &se) {
		return err
	}
	return source.NewShardError(shard, err)
}

// Get reads one bucket of the shard. A bucket another shard owns is an
// error (never not found: it exists); errors.Is(err, source.ErrNotFound)
// only when Cloud Control says the bucket does not exist.
func (r *Reader) Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error) {
	loc, err := r.location(ctx, shard, identifier)
	if err != nil {
		return source.Resource{}, err
	}
	if !loc.gone {
		if owner := r.owner(shard.AccountID, loc.region, shard.Region); owner != shard.Region {
			return source.Resource{}, &source.ShardError{Shard: source.Shard{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind},
				Reason: source.ReasonInvalidRequest,
				Err:    fmt.Errorf("bucket %q is in %s, and the shard of %s syncs it, not that of %s", identifier, regionOr(loc.region, "an unknown region"), owner, shard.Region)}
		}
	}
	// A bucket S3 says is gone is read anyway: Cloud Control's not-found is
	// the proof the controller knows, and a bucket made again since is found.
	res, err := r.cc.Get(ctx, shard, identifier)
	if err != nil {
		return source.Resource{}, err
	}
	res.Region = regionOr(loc.region, shard.Region)
	return res, nil
}

func regionOr(region, fallback string) string {
	if region == "" {
		return fallback
	}
	return region
}

// location is the bucket's region, cached for LocationTTL; concurrent
// lookups of one bucket share one call.
func (r *Reader) location(ctx context.Context, shard source.Shard, bucket string) (location, error) {
	r.mu.Lock()
	loc, ok := r.locations[bucket]
	r.mu.Unlock()
	if ok && r.now().Sub(loc.at) < LocationTTL {
		return loc, nil
	}
	v, err, _ := r.lookups.Do(bucket, func() (any, error) {
		loc, err := r.fetchLocation(ctx, shard.Region, bucket)
		if err != nil {
			return location{}, err
		}
		r.mu.Lock()
		r.locations[bucket] = loc
		r.mu.Unlock()
		return loc, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return location{}, fmt.Errorf("locate bucket %q: %w", bucket, ctx.Err())
		}
		return location{}, source.NewShardError(source.Shard{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind},
			fmt.Errorf("locate bucket %q (s3:GetBucketLocation): %w", bucket, err))
	}
	return v.(location), nil
}

func (r *Reader) fetchLocation(ctx context.Context, shardRegion, bucket string) (location, error) {
	out, err := r.client(shardRegion).GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &bucket})
	now := r.now()
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchBucket":
			return location{gone: true, at: now}, nil
		case "AccessDenied", "AllAccessDisabled":
			r.logger().Warn("bucket location unknown: it is synced by the home shard, with the region of that shard",
				slog.String("bucket", bucket), slog.Any("error", err))
			return location{at: now}, nil
		}
	}
	if err != nil {
		return location{}, err
	}
	return location{region: bucketRegion(out.LocationConstraint), at: now}, nil
}

// bucketRegion reads GetBucketLocation's LocationConstraint: none for
// us-east-1, EU for the oldest eu-west-1 buckets.
func bucketRegion(c types.BucketLocationConstraint) string {
	switch c {
	case "":
		return "us-east-1"
	case types.BucketLocationConstraintEu:
		return "eu-west-1"
	}
	return string(c)
}

// client is the S3 client of the partition of region, in that partition's
// first region, where GetBucketLocation answers for any bucket of it.
func (r *Reader) client(region string) *s3.Client {
	home := partitionRegion(region)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.clients[home]; c != nil {
		return c
	}
	s := r.paced.Client("S3", home, "GetBucketLocation")
	c := s3.NewFromConfig(r.cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.Region, o.Retryer, o.RetryMaxAttempts = s.Region, s.Retryer, 0
		o.APIOptions = append(o.APIOptions, s.APIOptions...)
	}}, r.opts.S3Options...)...)
	r.clients[home] = c
	return c
}

func partitionRegion(region string) string {
	switch identity.Partition(region) {
	case "aws-cn":
		return "cn-north-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	case "aws":
		return "us-east-1"
	}
	return region // the smaller partitions: ask in the shard's own region
}

func (r *Reader) concurrency() int {
	if r.opts.Source.GetConcurrency > 0 {
		return r.opts.Source.GetConcurrency
	}
	return source.DefaultGetConcurrency
}

func (r *Reader) logger() *slog.Logger {
	if r.opts.Source.Logger != nil {
		return r.opts.Source.Logger
	}
	return slog.Default()
}

type consumerError struct{ err error }

func (e *consumerError) Error() string { return e.err.Error() }
func (e *consumerError) Unwrap() error { return e.err }
