package source

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Constants of the adaptive pace (see adaptiveRate).
const (
	// DefaultStartRequestsPerSecond is where a region's pace starts: a rate
	// every account's Cloud Control allows, found in the first second of a
	// sync if the account allows more.
	DefaultStartRequestsPerSecond = 10
	// minAdaptiveRate is the floor of the pace: a region throttled by other
	// callers still reads, a call every two seconds.
	minAdaptiveRate = 0.5
	// slowStartDoubling and slowStartCalls set how fast the pace doubles
	// before the first throttle: every max(slowStartDoubling,
	// slowStartCalls / rate), so 10 → 400 calls/s takes about 0.65 s (at
	// 200 ms and 8 calls it took 1.9 s, in which a 400/s region's bucket
	// refilled unused: 15 % of the aws-400 bound); a region that allows
	// less than the start rate sees its first throttle within the first
	// few calls anyway.
	slowStartDoubling = 100 * time.Millisecond
	slowStartCalls    = 2
	// slowStartCut multiplies the pace at the first throttle: slow start
	// doubles, so the last rate without throttling is about half.
	slowStartCut = 0.5
	// throttleCut multiplies the pace at a later throttle (AIMD's β).
	throttleCut = 0.8
	// recoveryTime and recoveryCalls set how fast the pace grows after a
	// cut: back to the rate of the throttle (×1/throttleCut) in
	// max(recoveryTime, recoveryCalls / rate), so a throttle comes at most
	// about once a second at high rates and once per recoveryCalls calls at
	// low ones (at 4 calls/s, one cut every 4 s or more).
	recoveryTime  = time.Second
	recoveryCalls = 16
	// maxGrowthStep caps the growth credit of one success (or two calls'
	// interval at low rates): a pace idle for a while does not jump when
	// calls come back.
	maxGrowthStep = 250 * time.Millisecond
)

// adaptiveRate is the pace of one account-region: a rate in calls per
// second found from AWS's answers, AIMD-style with a slow start.
//
//   - Slow start: from the start rate the pace doubles every
//     slowStartDoubling while calls succeed, until the first throttle,
//     which halves it.
//   - Then, on each throttle, the pace is multiplied by throttleCut; while
//     calls succeed it grows exponentially in time, at a rate that brings it
//     back to where it was cut in max(recoveryTime, recoveryCalls / rate).
//   - A throttle only cuts for a call that took its token after the last
//     cut: the calls in flight or already holding a reservation at the old
//     rate when AWS first said no say nothing new.
//   - At the first throttle the pace is halved, or set to the calls/s AWS
//     admitted in the last 0.5 s if that is lower; calls that reserved a
//     token at the old rate and still wait take a new one.
//   - The pace grows only from successes of calls that waited for their
//     token (the pace, not the demand, was the limit), so a region that
//     reads little does not inflate its rate and throttle itself later.
//   - It stays within [min(minAdaptiveRate, ceiling), ceiling].
//
// The SDK's adaptive retry mode (retry.NewAdaptiveMode, botocore's) was
// measured at 42 calls/s against a 100/s limit: it cuts to 0.7 × the
// measured send rate and caps the rate at twice the measured one, so a
// reader whose demand is below its pace for a while (listing pages) pulls
// its own limit down; its CUBIC growth constant is in absolute calls/s, so
// it recovers in seconds at 4/s and far too slowly at 400/s; it has no
// start rate or ceiling. This type's growth scales with the rate.
//
// Methods take the time so tests can drive it; it is safe for concurrent use.
type adaptiveRate struct {
	mu        sync.Mutex
	rate      float64
	floor     float64
	ceiling   float64 // +Inf: none
	slowStart bool
	lastGrow  time.Time // last success that earned growth (or cut)
	lastCut   time.Time
	cuts      uint64 // generation: waiters re-reserve after a cut
	// admitted counts successes in the last second, in 100 ms slots
	// (slot i holds the successes of tenth slotTenth[i]).
	admitted  [10]int
	slotTenth [10]int64
}

// admittedWindow is how far back admittedRate looks, in 100 ms slots: long
// enough to hold a few calls at 10/s, short enough that the slow start's
// lower rates of a second ago do not pull the estimate down.
const admittedWindow = 5

// admittedRate is the successes of the last admittedWindow slots, per second.
func (a *adaptiveRate) admittedRate(now time.Time) float64 {
	tenth := now.UnixNano() / int64(100*time.Millisecond)
	n := 0
	for i, t := range a.slotTenth {
		if tenth-t < admittedWindow {
			n += a.admitted[i]
		}
	}
	return float64(n) / (admittedWindow / 10.0)
}

func (a *adaptiveRate) countSuccess(now time.Time) {
	tenth := now.UnixNano() / int64(100*time.Millisecond)
	i := int(tenth % 10)
	if a.slotTenth[i] != tenth {
		a.slotTenth[i], a.admitted[i] = tenth, 0
	}
	a.admitted[i]++
}

// generation changes at every cut.
func (a *adaptiveRate) generation() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cuts
}

func newAdaptiveRate(start, ceiling float64, now time.Time) *adaptiveRate {
	if !(ceiling > 0) {
		ceiling = math.Inf(1)
	}
	if !(start > 0) {
		start = DefaultStartRequestsPerSecond
	}
	floor := math.Min(minAdaptiveRate, ceiling)
	return &adaptiveRate{rate: math.Min(start, ceiling), floor: floor, ceiling: ceiling, slowStart: true, lastGrow: now}
}

// current is the pace in calls per second.
func (a *adaptiveRate) current() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate
}

// succeeded records a successful call at now; limited says it waited for
// its token. It returns the pace after it.
func (a *adaptiveRate) succeeded(now time.Time, limited bool) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.countSuccess(now)
	dt := now.Sub(a.lastGrow)
	if dt <= 0 {
		return a.rate
	}
	a.lastGrow = now
	if !limited {
		return a.rate
	}
	dt = min(dt, max(maxGrowthStep, time.Duration(2/a.rate*float64(time.Second))))
	var growth float64 // per second, exponential
	if a.slowStart {
		growth = math.Ln2 / math.Max(slowStartDoubling.Seconds(), slowStartCalls/a.rate)
	} else {
		recovery := math.Max(recoveryTime.Seconds(), recoveryCalls/a.rate)
		growth = math.Log(1/throttleCut) / recovery
	}
	a.rate = math.Min(a.ceiling, a.rate*math.Exp(growth*dt.Seconds()))
	return a.rate
}

// throttled records a throttled call that reserved its token at sent and
// was answered at now, and returns the pace after it and whether it was cut.
func (a *adaptiveRate) throttled(now, sent time.Time) (float64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if sent.Before(a.lastCut) {
		return a.rate, false
	}
	next := a.rate * throttleCut
	if a.slowStart {
		next = a.rate * slowStartCut
		a.slowStart = false
	}
	// What AWS let through in the last half second is a better guess than
	// a cut of a rate that grew while AWS's own burst hid the limit.
	if adm := a.admittedRate(now); adm > 0 {
		next = math.Min(next, adm)
	}
	a.rate = math.Max(a.floor, next)
	a.cuts++
	a.lastCut = now
	a.lastGrow = now
	return a.rate, true
}

// rateReportInterval bounds how often a rising pace is reported to
// Options.OnRate; every cut is reported at once.
const rateReportInterval = time.Second

// regionPace ties one region's adaptive rate to its token bucket and its
// GetResource budget, and reports the rate.
type regionPace struct {
	region  string
	adapt   *adaptiveRate
	limiter *rate.Limiter
	gets    *getSlots
	onRate  func(region string, perSecond float64)

	mu         sync.Mutex
	reportedAt time.Time
	throttles  int // throttled attempts seen
	cuts       int
}

func newRegionPace(region string, adapt *adaptiveRate, limiter *rate.Limiter, gets *getSlots, onRate func(string, float64)) *regionPace {
	p := &regionPace{region: region, adapt: adapt, limiter: limiter, gets: gets, onRate: onRate}
	p.apply(adapt.current(), true, time.Now())
	return p
}

func (p *regionPace) succeeded(now time.Time, waited bool) {
	before := p.limiter.Limit()
	r := p.adapt.succeeded(now, waited)
	if rate.Limit(r) != before {
		p.apply(r, false, now)
	}
}

func (p *regionPace) throttled(now, sent time.Time) {
	r, cut := p.adapt.throttled(now, sent)
	p.mu.Lock()
	p.throttles++
	if cut {
		p.cuts++
	}
	p.mu.Unlock()
	if cut {
		p.apply(r, true, now)
	}
}

// apply sets the bucket's rate and the GetResource budget to r and reports
// it (at once when force, else at most every rateReportInterval).
func (p *regionPace) apply(r float64, force bool, now time.Time) {
	p.limiter.SetLimitAt(now, rate.Limit(r))
	p.gets.setRate(r)
	if p.onRate == nil {
		return
	}
	p.mu.Lock()
	report := force || now.Sub(p.reportedAt) >= rateReportInterval
	if report {
		p.reportedAt = now
	}
	p.mu.Unlock()
	if report {
		p.onRate(p.region, r)
	}
}

// RegionRate is what the reader knows of one region's pace.
type RegionRate struct {
	// Service is "" for Cloud Control, else the SDK's service id (Paced).
	Service string
	Region  string
	// PerSecond is the pace now: the adaptive rate, or the fixed one.
	PerSecond float64
	// Throttled counts throttled call attempts; Cuts the times the pace was cut.
	Throttled, Cuts int
}

func (p *regionPace) snapshot() RegionRate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return RegionRate{Region: p.region, PerSecond: p.adapt.current(), Throttled: p.throttles, Cuts: p.cuts}
}
