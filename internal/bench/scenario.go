// Package bench measures the exporter against the in-repo testbed with the
// latencies and rate limits of the real services injected: the Cloud Control
// emulator behind a per-region rate limiter, and the Port double with its
// latency and organization-wide rate limit. Each scenario reports its wall
// time beside the lower bound those limits impose, the requests made to each
// side, entities per Port request and peak memory (RSS).
//
// The sync scenarios take the exporter as a function (Exporter), so the same
// measurement runs the exporter in this process (tests) or in a child process
// that has a peak RSS of its own (the bench command).
package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Scenario is one measured situation. The zero values of the knobs are not
// meaningful: start from Named.
type Scenario struct {
	Name string
	// Kinds and Regions span the shards; PerShard resources live in each.
	Kinds    []string
	Regions  []string
	PerShard int
	// PageSize caps ListResources pages (real list handlers answer about 25).
	PageSize int
	// AWSLatency is added to every Cloud Control call; AWSRate is the
	// requests per second AWS accepts per region before it throttles.
	AWSLatency time.Duration
	AWSRate    float64
	// PortLatency is added to every Port request; PortRate is the
	// organization's requests per second (one-second windows in the double).
	PortLatency time.Duration
	PortRate    int
	// Messages is the number of events of the events scenario.
	Messages int
	// TrustList maps the properties ListResources returns (the config's
	// trust_list_properties): no GetResource, so AWS needs only the pages
	// and a Port budget can be the limit.
	TrustList bool
	// Accounts > 0 makes it an organization scenario (org.go): that many
	// member accounts, each with every (region, kind) shard, each
	// account-region with its own AWS budget of AWSRate.
	Accounts int
}

// Resources is the total number of AWS resources of the scenario.
func (s Scenario) Resources() int { return s.AllShards() * s.PerShard }

// Shards is the number of (region, kind) shards of one account.
func (s Scenario) Shards() int { return len(s.Kinds) * len(s.Regions) }

// AllShards is the number of (account, region, kind) shards: Shards of
// each member account in an organization scenario.
func (s Scenario) AllShards() int { return max(1, s.Accounts) * s.Shards() }

// DefaultKinds are ten Cloud Control types a typical account syncs.
var DefaultKinds = []string{
	"AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::DynamoDB::Table", "AWS::ECS::Cluster",
	"AWS::ECR::Repository", "AWS::RDS::DBInstance", "AWS::EC2::Instance", "AWS::Logs::LogGroup", "AWS::IAM::Role",
}

// DefaultRegions are four regions of one account.
var DefaultRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"}

// DefaultAWSRate is the per-region Cloud Control rate the scenarios enforce.
// AWS publishes no figure; 100 requests per second keeps a 20,000-resource
// sync near a minute, long enough that start-up costs do not hide the pace.
const DefaultAWSRate = 100

// Scenario names, as the bench command takes them.
const (
	ScenarioFullSync     = "full-sync"
	ScenarioFullSync100k = "full-sync-100k"
	// ScenarioFullSync1M is 1,000,000 resources (40 shards of 25,000) for
	// peak RSS, against a testbed fast enough (AWS 2,000/s per region,
	// Port 2,000/s) that the run takes minutes, not hours.
	ScenarioFullSync1M = "full-sync-1m"
	ScenarioEvents     = "events"
	ScenarioMapping    = "mapping"
	// Budgets (issue 11): the exporter with the binary's defaults, no rate
	// flag, against AWS allowing 4, 60 or 400 calls/s per region, or Port
	// allowing 12 or 1,200 requests/s.
	ScenarioAWS4     = "aws-4"
	ScenarioAWS60    = "aws-60"
	ScenarioAWS400   = "aws-400"
	ScenarioPort12   = "port-12"
	ScenarioPort1200 = "port-1200"
	// ScenarioOrg200 (issue 13): an organization of 200 member accounts
	// × 3 regions × 5 kinds (3,000 shards of 4 resources) synced through
	// the Lambda fan-out over SQS, each account-region with its own AWS
	// budget (org.go).
	ScenarioOrg200 = "org-200"
)

// Named returns a scenario of issue 6; resources > 0 replaces its size (spread
// evenly over the shards for the sync scenarios, messages or documents for the others).
func Named(name string, resources int) (Scenario, error) {
	sc := Scenario{
		Name: name, Kinds: DefaultKinds, Regions: DefaultRegions, PageSize: 25,
		AWSLatency: 50 * time.Millisecond, AWSRate: DefaultAWSRate,
		PortLatency: 80 * time.Millisecond, PortRate: 117,
	}
	switch name {
	case ScenarioFullSync:
		sc.PerShard = 500
	case ScenarioFullSync100k:
		sc.PerShard = 2500
	case ScenarioFullSync1M:
		sc.PerShard, sc.AWSRate, sc.PortRate = 25_000, 2000, 2000
	case ScenarioEvents:
		sc.PerShard = 250
		sc.Messages = 10_000
	case ScenarioMapping:
		sc.Kinds, sc.Regions, sc.PerShard = DefaultKinds[:1], DefaultRegions[:1], 100_000
	case ScenarioAWS4: // 160 resources, 168 calls: 20 s at 4/s
		sc.Kinds, sc.Regions, sc.PerShard, sc.AWSRate = DefaultKinds[:1], DefaultRegions[:2], 80, 4
	case ScenarioAWS60: // 1,000 resources, 1,040 calls: 7.7 s at 60/s
		sc.Kinds, sc.Regions, sc.PerShard, sc.AWSRate = DefaultKinds[:1], DefaultRegions[:2], 500, 60
	case ScenarioAWS400: // 8,000 resources, 8,320 calls: 9.4 s at 400/s
		sc.Kinds, sc.Regions, sc.PerShard, sc.AWSRate = DefaultKinds[:4], DefaultRegions[:2], 1000, 400
	case ScenarioPort12: // 2,000 resources, 160 Port requests: 13 s at 12/s
		sc.PerShard, sc.PortRate = 50, 12
	case ScenarioLambda30k: // 30,000 resources, 31,200 calls: 312 s at 100/s, several 60 s invocations
		sc.Kinds, sc.Regions, sc.PerShard = DefaultKinds[:1], DefaultRegions[:1], 30_000
	case ScenarioPort1200: // 20,000 resources, 1,020 Port requests: 8.7 s at Port's published pace, 0.9 s at 1,200/s
		// The list properties are mapped (pages of 100), so that AWS (200
		// pages) is not the limit and the Port pace shows.
		sc.Regions, sc.PerShard, sc.AWSRate, sc.PortRate = DefaultRegions[:2], 1000, 1000, 1200
		sc.TrustList, sc.PageSize = true, 100
	case ScenarioOrg200: // 12,000 resources, 25 AWS calls per account-region, 6,000 Port requests: 51 s at 117/s
		sc.Kinds, sc.Regions, sc.PerShard, sc.Accounts = DefaultKinds[:5], DefaultRegions[:3], 4, 200
	default:
		return Scenario{}, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	if resources > 0 {
		switch name {
		case ScenarioEvents:
			sc.Messages = resources
		case ScenarioMapping:
			sc.PerShard = resources
		default:
			sc.PerShard = max(1, resources/sc.AllShards())
		}
	}
	return sc, nil
}

// ScenarioNames lists the scenarios Named knows.
func ScenarioNames() []string {
	names := []string{ScenarioFullSync, ScenarioFullSync100k, ScenarioFullSync1M, ScenarioEvents, ScenarioMapping,
		ScenarioAWS4, ScenarioAWS60, ScenarioAWS400, ScenarioPort12, ScenarioPort1200, ScenarioOrg200, ScenarioLambda30k}
	sort.Strings(names)
	return names
}
