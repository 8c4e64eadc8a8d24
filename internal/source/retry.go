package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Retries are the SDK's: retry.Standard with the reader's attempt budget and
// full-jitter exponential backoff (retry n waits a random time in
// [0, min(BackoffCap, BackoffBase·2ⁿ⁻¹))), and, with Options.AdaptivePacing,
// retry.AdaptiveMode, whose client-side rate limit cuts the region's rate on
// every throttled answer and raises it again while calls succeed. Pacing and
// the GetResource budget are one Finalize middleware after the SDK's "Retry",
// so they apply to every attempt, retries included, as the reader's own loop
// did.

// cloudControlRetryables extend the SDK's judgement with Cloud Control's
// transient codes and throttling reported by the service behind a type inside
// GeneralServiceException.
var cloudControlRetryables = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if classify(err) == ReasonThrottled {
		return aws.TrueTernary
	}
	var api smithy.APIError
	if errors.As(err, &api) && transientCodes[api.ErrorCode()] {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// retryables is the whole list the retryer and IsTransient use.
var retryables = append(append([]retry.IsErrorRetryable{}, retry.DefaultRetryables...), cloudControlRetryables)

// throttles are what the adaptive rate limit cuts the rate on.
var throttles = append(append([]retry.IsErrorThrottle{}, retry.DefaultThrottles...),
	retry.IsErrorThrottleFunc(func(err error) aws.Ternary {
		if classify(err) == ReasonThrottled {
			return aws.TrueTernary
		}
		return aws.UnknownTernary
	}))

// newRetryer returns the retryer of one region client. Each region has its
// own, so the adaptive rate limit (when on) is per account and region.
func (o Options) newRetryer() aws.Retryer {
	standard := func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxRetries + 1
		so.BaseDelay = o.BackoffBase
		so.MaxBackoff = o.BackoffCap
		so.Retryables = retryables
		// No throttle list here: the SDK's backoff would then start
		// throttled retries at 1 s whatever BackoffBase says. The adaptive
		// mode below has its own list.
		so.Throttles = nil
		// No retry quota: MaxRetries is the whole budget of a call. The
		// quota fails calls at once in a throttling storm; the adaptive
		// rate limit is the better answer to one.
		so.RateLimiter = ratelimit.None
	}
	if !o.AdaptivePacing {
		return retry.NewStandard(standard)
	}
	return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
		ao.StandardOptions = append(ao.StandardOptions, standard)
		ao.Throttles = throttles
	})
}

// paceError is a pacing wait refused because it would outlast the deadline.
// To the SDK's retryer it is a cancellation (not retried); errors.Is finds
// context.DeadlineExceeded, so callers see a transient deadline.
type paceError struct {
	region string
	err    error
}

func (e *paceError) Error() string {
	return fmt.Sprintf("wait for the %s request pace: %v: %v", e.region, context.DeadlineExceeded, e.err)
}
func (e *paceError) Unwrap() error       { return context.DeadlineExceeded }
func (e *paceError) CanceledError() bool { return true }

// pacing is the per-attempt middleware of one (service, region): a read
// slot (see getSlots) for the per-resource reads (GetResource, or what
// slotted names), a token of the bucket, then the call, observed; its answer
// moves the adaptive pace (when on), which the bucket and the read budget
// follow.
type pacing struct {
	// service is "" for Cloud Control (whose operations are observed by
	// their bare names, ListResources and GetResource), else the SDK's
	// service id, e.g. "EC2": its operations are observed as EC2.DescribeInstances.
	service string
	region  string
	slotted func(op string) bool
	limiter *rate.Limiter
	gets    *getSlots
	pace    *regionPace // nil: the bucket's rate is fixed (or unpaced)
	observe func(op, region string, err error, d time.Duration)
	logger  *slog.Logger
}

func (p *pacing) ID() string { return "PortAWSExporterPacing" }

func (p *pacing) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	isGet := p.slotted(op)
	if isGet {
		if err := p.gets.acquire(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		defer p.gets.release()
	}
	reserved := time.Now()
	waited, err := p.wait(ctx)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	start := time.Now()
	out, md, err := next.HandleFinalize(ctx, in)
	end := time.Now()
	d := end.Sub(start)
	label := op
	if p.service != "" {
		label = p.service + "." + op
	}
	if p.observe != nil {
		p.observe(label, p.region, err, d)
	}
	switch {
	case err == nil:
		if isGet {
			p.gets.observe(d)
		}
		if p.pace != nil {
			p.pace.succeeded(end, waited)
		}
	case ctx.Err() == nil:
		if p.pace != nil && classify(err) == ReasonThrottled {
			p.pace.throttled(end, reserved)
		}
		p.logger.Debug("aws call attempt failed",
			slog.String("op", label), slog.String("region", p.region), slog.Any("error", err))
	}
	return out, md, err
}

// wait takes a token of the region's bucket and says whether the call had
// to wait for it (the pace, not the demand, was the limit).
func (p *pacing) wait(ctx context.Context) (waited bool, err error) {
	if p.limiter.Limit() == rate.Inf {
		return false, ctx.Err()
	}
	var gen uint64
	if p.pace != nil {
		gen = p.pace.adapt.generation()
	}
	reservedAt := p.limiter.Limit()
	now := time.Now()
	r := p.limiter.ReserveN(now, 1)
	if !r.OK() {
		return false, &paceError{region: p.region, err: errors.New("the bucket refuses a single token")}
	}
	delay := r.DelayFrom(now)
	if delay == 0 {
		return false, ctx.Err()
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
		// The wait would outlast the deadline: refuse early.
		r.CancelAt(now)
		return true, &paceError{region: p.region, err: fmt.Errorf("the next token comes in %s", delay.Round(time.Millisecond))}
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		r.Cancel()
		return true, fmt.Errorf("wait for the %s request pace: %w", p.region, ctx.Err())
	}
	if p.pace != nil && p.pace.adapt.generation() != gen && float64(p.limiter.Limit()) < reReserveBelow*float64(reservedAt) {
		// The pace was cut deeply while this call waited at the old rate
		// (the slow start's exit): take a token at the new one, or every
		// waiter goes at the old spacing into an empty bucket. After a
		// small cut the waiters keep their tokens: a new one costs a second
		// token per waiter (the first is spent), a gap as long as the queue.
		_, err := p.wait(ctx)
		return true, err
	}
	return true, nil
}

// reReserveBelow: a waiter takes a new token when the pace it reserved at
// was cut below this share of it while it waited.
const reReserveBelow = 0.6

// addTo puts the pacing middleware right after the SDK's retry loop.
func (p *pacing) addTo(stack *middleware.Stack) error {
	return stack.Finalize.Insert(p, "Retry", middleware.After)
}
