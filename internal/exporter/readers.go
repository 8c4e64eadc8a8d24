package exporter

import (
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/source/accountinfo"
	"github.com/port-labs/port-aws-exporter/internal/source/describe"
	"github.com/port-labs/port-aws-exporter/internal/source/s3region"
)

// Readers are every reader of one account, built from that account's
// aws.Config: Cloud Control for every kind, the Describe reader for the
// kinds the config reads through it (selector.aws.reader, or by default
// the original exporter's five), and S3 buckets located in their own
// region. Source routes each shard to its kind's reader.
type Readers struct {
	CloudControl *source.CloudControl
	Describe     *describe.Reader // nil when no kind is read through it
	S3           *s3region.Reader // nil when the config does not sync S3 buckets
	Source       source.ByKind
}

// NewReaders builds the readers of the account of awsCfg for mapper's
// config; defaultRegion is that of entries that name none.
func NewReaders(mapper *mapping.Mapper, awsCfg aws.Config, opts source.Options, defaultRegion string) *Readers {
	return newReaders(mapper, awsCfg, opts, defaultRegion, nil)
}

// newReaders is NewReaders; s3Regions, when set, says per account which
// regions' shards read S3 buckets (an account's discovered regions), else
// they are the config's regions.
func newReaders(mapper *mapping.Mapper, awsCfg aws.Config, opts source.Options, defaultRegion string, s3Regions func(string) []string) *Readers {
	cc := source.NewCloudControl(awsCfg, opts)
	r := &Readers{CloudControl: cc, Source: source.ByKind{Default: cc, Kinds: map[string]source.Reader{}}}
	// The account kinds of Ocean's integrations (internal/source/accountinfo).
	for kind, newReader := range accountinfo.Constructors {
		r.Source.Kinds[kind] = newReader(awsCfg, opts)
	}
	for _, res := range mapper.Config().Resources {
		if res.ReaderOf() != config.ReaderDescribe {
			continue
		}
		if r.Describe == nil {
			r.Describe = describe.New(awsCfg, opts)
		}
		r.Source.Kinds[res.Kind] = r.Describe
	}
	if entries := mapper.ForKind(s3region.Kind); len(entries) > 0 {
		var regions []string
		for _, e := range entries {
			for _, region := range e.Regions(defaultRegion) {
				if region != "" && !slices.Contains(regions, region) {
					regions = append(regions, region)
				}
			}
		}
		// An S3 look-alike (moto, LocalStack, the testbed) serves buckets by
		// path only. By the time option functions run, the client has read
		// its endpoint from the config and the environment
		// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).
		s3opts := []func(*s3.Options){func(o *s3.Options) {
			if o.BaseEndpoint != nil {
				o.UsePathStyle = true
			}
		}}
		if s3Regions == nil {
			s3Regions = func(string) []string { return regions }
		}
		r.S3 = s3region.New(awsCfg, cc, s3region.Options{
			Regions:   s3Regions,
			Source:    opts,
			S3Options: s3opts,
		})
		r.Source.Kinds[s3region.Kind] = r.S3
	}
	return r
}

// LogRates logs the pace each region (and, for the other services, each
// service and region) settled at.
func (r *Readers) LogRates(logger *slog.Logger) {
	r.CloudControl.LogRates(logger)
	if r.Describe != nil {
		r.Describe.LogRates(logger)
	}
	if r.S3 != nil {
		r.S3.Paced().LogRates(logger)
	}
}
