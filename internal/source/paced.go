package source

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// regionPacer is the pacing and retry state of one (service, region) of one
// account: the token bucket with its adaptive pace, the budget of
// per-resource reads in flight, the middleware that applies both to every
// call attempt, and the SDK retryer. AWS's rate limits are per account,
// region and service, so each has its own.
type regionPacer struct {
	service, region string
	gets            *getSlots
	pace            *regionPace // nil unless adaptive
	fixed           float64     // the fixed pace (or -1: unpaced) when pace is nil
	mw              *pacing
	retryer         aws.Retryer
}

// newRegionPacer builds the state of one (service, region); slotted names
// the per-resource read operations that hold a slot of the read budget.
// service is "" for Cloud Control.
func (o Options) newRegionPacer(service, region string, slotted func(op string) bool) *regionPacer {
	rp := &regionPacer{service: service, region: region, retryer: o.newRetryer()}
	var limiter *rate.Limiter
	switch {
	case o.RequestsPerSecond < 0:
		rp.fixed = -1
		limiter = rate.NewLimiter(rate.Inf, o.Burst)
		rp.gets = newGetSlots(-1, o.GetConcurrency)
	case o.FixedPace:
		rp.fixed = o.RequestsPerSecond
		limiter = rate.NewLimiter(rate.Limit(o.RequestsPerSecond), o.Burst)
		rp.gets = newGetSlots(o.RequestsPerSecond, o.GetConcurrency)
	default:
		limiter = rate.NewLimiter(rate.Limit(o.StartRequestsPerSecond), o.Burst)
		rp.gets = newGetSlots(o.StartRequestsPerSecond, o.GetConcurrency)
		adapt := newAdaptiveRate(o.StartRequestsPerSecond, o.RequestsPerSecond, time.Now())
		onRate := o.OnRate
		if service != "" && onRate != nil {
			// OnRate reports Cloud Control's pace per region; other services' paces are in Paced.Rates.
			onRate = nil
		}
		rp.pace = newRegionPace(region, adapt, limiter, rp.gets, onRate)
	}
	rp.mw = &pacing{
		service: service,
		region:  region,
		slotted: slotted,
		limiter: limiter,
		gets:    rp.gets,
		pace:    rp.pace,
		observe: o.Observe,
		logger:  o.logger(),
	}
	return rp
}

func (rp *regionPacer) rate() RegionRate {
	if rp.pace != nil {
		r := rp.pace.snapshot()
		r.Service = rp.service
		return r
	}
	return RegionRate{Service: rp.service, Region: rp.region, PerSecond: rp.fixed}
}

// Paced gives the SDK clients of services other than Cloud Control (the
// Describe readers, S3's GetBucketLocation) the same retries and pacing as
// the Cloud Control reader: the SDK's retryer with Options' attempt budget
// and backoff, and per (service, region) a token bucket whose pace adapts
// to AWS's throttling below Options.RequestsPerSecond, a budget of
// per-resource reads in flight (Options.GetConcurrency at most), and
// Options.Observe on every attempt. One Paced serves one account: AWS
// limits each account's calls per service and region. It is safe for
// concurrent use.
type Paced struct {
	opts Options

	mu     sync.Mutex
	pacers map[[2]string]*regionPacer
}

// NewPaced returns the pacing of one account's calls; zero Options fields
// take the Cloud Control reader's defaults.
func NewPaced(opts Options) *Paced {
	return &Paced{opts: opts.withDefaults(), pacers: map[[2]string]*regionPacer{}}
}

// ClientSettings are what one SDK client needs to be paced: set them on the
// service's Options (Region, Retryer, RetryMaxAttempts = 0 so that
// AWS_MAX_ATTEMPTS does not change the budget, and APIOptions appended).
type ClientSettings struct {
	Region     string
	Retryer    aws.Retryer
	APIOptions []func(*middleware.Stack) error
}

// Client returns the settings of a client of service (the SDK's service id,
// e.g. "EC2") in region. perResource names the operations that read one
// resource each (DescribeCertificate, ListTagsForResource, ...): they hold
// a slot of the (service, region)'s read budget while they run, as
// GetResource does for Cloud Control, so many shards reading one region
// cannot pile calls up beyond what its pace serves. Every call for one
// (service, region) returns the same retryer and middleware.
func (p *Paced) Client(service, region string, perResource ...string) ClientSettings {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := [2]string{service, region}
	rp := p.pacers[key]
	if rp == nil {
		slotted := func(op string) bool { return slices.Contains(perResource, op) }
		rp = p.opts.newRegionPacer(service, region, slotted)
		p.pacers[key] = rp
	}
	return ClientSettings{Region: region, Retryer: rp.retryer, APIOptions: []func(*middleware.Stack) error{rp.mw.addTo}}
}

// Rates reports the pace of every (service, region) called so far, sorted
// by service then region.
func (p *Paced) Rates() []RegionRate {
	p.mu.Lock()
	out := make([]RegionRate, 0, len(p.pacers))
	for _, rp := range p.pacers {
		out = append(out, rp.rate())
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b RegionRate) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return strings.Compare(a.Region, b.Region)
	})
	return out
}

// LogRates logs each (service, region)'s pace at info level ("aws pace").
func (p *Paced) LogRates(logger *slog.Logger) {
	if logger == nil {
		logger = p.opts.logger()
	}
	for _, r := range p.Rates() {
		logger.Info("aws pace", slog.String("service", r.Service), slog.String("region", r.Region),
			slog.Float64("requests_per_second", math.Round(r.PerSecond*10)/10),
			slog.Int("throttled", r.Throttled), slog.Int("cuts", r.Cuts))
	}
}
