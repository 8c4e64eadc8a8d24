package bench

import (
	"math"
	"time"
)

// portBulk and portSearchPage are Port's limits that decide the fewest
// requests a sync can make: 20 entities per bulk upsert, 1,000 entities per
// search page (the ownership lookup of each shard).
const (
	portBulk       = 20
	portSearchPage = 1000
)

// Bound is the lower bound of a full sync under a scenario's limits and
// latencies: no exporter can be faster, whatever its design.
type Bound struct {
	// AWSRequests is the fewest Cloud Control calls: every list page and
	// one GetResource per resource. PortRequests is the fewest Port
	// requests: full bulk upserts plus one ownership search page per shard.
	AWSRequests  int `json:"awsRequests"`
	PortRequests int `json:"portRequests"`
	// AWS is the time the busiest region's rate allows those calls;
	// Port the time the organization's rate allows; Chain the time the
	// sequential pages of one shard take (each needs the previous NextToken).
	AWS   time.Duration `json:"aws"`
	Port  time.Duration `json:"port"`
	Chain time.Duration `json:"chain"`
	// Total is the largest of them plus one AWS and one Port latency: the
	// last resource read still has to be written.
	Total time.Duration `json:"total"`
}

// SyncBound computes the lower bound of a full sync of sc.
func SyncBound(sc Scenario) Bound {
	pages := ceilDiv(sc.PerShard, sc.PageSize)
	perRegion := len(sc.Kinds) * (pages + sc.PerShard)
	if sc.TrustList {
		perRegion = len(sc.Kinds) * pages // no GetResource
	}
	b := Bound{
		AWSRequests:  perRegion * len(sc.Regions),
		PortRequests: sc.Shards() * (ceilDiv(sc.PerShard, portBulk) + ceilDiv(sc.PerShard, portSearchPage)),
		Chain:        time.Duration(pages) * sc.AWSLatency,
	}
	b.AWS = bucketTime(perRegion, sc.AWSRate, int(sc.AWSRate))
	b.Port = windowTime(b.PortRequests, sc.PortRate)
	b.Total = max(b.AWS, b.Port, b.Chain) + sc.AWSLatency + sc.PortLatency
	return b
}

// OrgBound computes the lower bound of a full sync of an organization
// scenario (sc.Accounts member accounts, each with every region and kind):
// every account-region has a bucket of its own (AWS budgets are per account
// and region), so the AWS term is one account-region's calls under its
// rate, the busiest one's, and all accounts are equally busy here; Port's
// organization-wide budget takes the requests of every account's shards.
// As in SyncBound the two run at once, so the bound is the larger of them
// (and of one shard's chained pages) plus one AWS and one Port latency. The
// fan-out's own SQS traffic is not counted: it is the testbed's, not a
// budget of AWS or Port.
func OrgBound(sc Scenario) Bound {
	accounts := max(1, sc.Accounts)
	pages := ceilDiv(sc.PerShard, sc.PageSize)
	perAccountRegion := len(sc.Kinds) * (pages + sc.PerShard)
	if sc.TrustList {
		perAccountRegion = len(sc.Kinds) * pages
	}
	b := Bound{
		AWSRequests:  perAccountRegion * len(sc.Regions) * accounts,
		PortRequests: sc.AllShards() * (ceilDiv(sc.PerShard, portBulk) + ceilDiv(sc.PerShard, portSearchPage)),
		Chain:        time.Duration(pages) * sc.AWSLatency,
	}
	b.AWS = bucketTime(perAccountRegion, sc.AWSRate, int(sc.AWSRate))
	b.Port = windowTime(b.PortRequests, sc.PortRate)
	b.Total = max(b.AWS, b.Port, b.Chain) + sc.AWSLatency + sc.PortLatency
	return b
}

// bucketTime is when the n-th request can start under a token bucket of
// rate per second that starts full with burst tokens.
func bucketTime(n int, rate float64, burst int) time.Duration {
	if n <= burst || rate <= 0 {
		return 0
	}
	return time.Duration(float64(n-burst) / rate * float64(time.Second))
}

// windowTime is when the n-th request can start under fixed one-second
// windows of perWindow requests each (Port's limiter, as the double does it).
func windowTime(n, perWindow int) time.Duration {
	if n <= perWindow || perWindow <= 0 {
		return 0
	}
	return time.Duration(ceilDiv(n, perWindow)-1) * time.Second
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// SeedEstimate is a computed estimate (not a measurement) of how the seed's
// design fares under sc: shards one after another (kinds and regions in
// sequence), list pages one after another, 2 GetResource calls in flight,
// one Port request per entity with 5 in flight. Overlapped assumes the
// shard's Port writes run while its reads go on, so a shard costs the
// slower of the two; Sequential assumes they do not, so it costs both.
type SeedEstimate struct {
	PortRequests int           `json:"portRequests"`
	Overlapped   time.Duration `json:"overlapped"`
	Sequential   time.Duration `json:"sequential"`
}

// Seed's constants, from issue 6.
const (
	seedGetConcurrency  = 2
	seedPortConcurrency = 5
)

// EstimateSeed computes the seed's estimate for sc.
func EstimateSeed(sc Scenario) SeedEstimate {
	pages := ceilDiv(sc.PerShard, sc.PageSize)
	listing := time.Duration(pages) * sc.AWSLatency
	// Two calls in flight at AWSLatency each, unless the region's rate is lower.
	getRate := math.Min(seedGetConcurrency/sc.AWSLatency.Seconds(), sc.AWSRate)
	reading := listing + time.Duration(float64(sc.PerShard)/getRate*float64(time.Second))
	writeRate := math.Min(seedPortConcurrency/sc.PortLatency.Seconds(), float64(sc.PortRate))
	writing := time.Duration(float64(sc.PerShard) / writeRate * float64(time.Second))
	shards := time.Duration(sc.Shards())
	return SeedEstimate{
		PortRequests: sc.Resources(),
		Overlapped:   shards * max(reading, writing),
		Sequential:   shards * (reading + writing),
	}
}
