package bench

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// boundCase is one record of testdata/bounds.json: a scenario and the
// bound and seed estimate worked out by hand.
type boundCase struct {
	Name                     string
	Kinds, Regions, PerShard int
	PageSize                 int
	AWSLatency               duration
	AWSRate                  float64
	PortLatency              duration
	PortRate                 int
	AWSRequests              int
	PortRequests             int
	AWS, Port, Chain, Total  duration
	SeedOverlapped           duration
	SeedSequential           duration
}

type duration struct{ time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	var err error
	d.Duration, err = time.ParseDuration(s)
	return err
}

func TestSyncBoundAndSeedEstimate(t *testing.T) {
	data, err := os.ReadFile("testdata/bounds.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []boundCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			sc := Scenario{
				Kinds: DefaultKinds[:c.Kinds], Regions: DefaultRegions[:c.Regions], PerShard: c.PerShard, PageSize: c.PageSize,
				AWSLatency: c.AWSLatency.Duration, AWSRate: c.AWSRate, PortLatency: c.PortLatency.Duration, PortRate: c.PortRate,
			}
			b := SyncBound(sc)
			want := Bound{AWSRequests: c.AWSRequests, PortRequests: c.PortRequests,
				AWS: c.AWS.Duration, Port: c.Port.Duration, Chain: c.Chain.Duration, Total: c.Total.Duration}
			if b != want {
				t.Errorf("SyncBound = %+v\nwant        %+v", b, want)
			}
			seed := EstimateSeed(sc)
			if seed.Overlapped != c.SeedOverlapped.Duration || seed.Sequential != c.SeedSequential.Duration || seed.PortRequests != sc.Resources() {
				t.Errorf("EstimateSeed = %+v, want overlapped %v, sequential %v, %d Port requests",
					seed, c.SeedOverlapped, c.SeedSequential, sc.Resources())
			}
		})
	}
}

// TestOrgBound: the organization bound, worked out by hand: the AWS term is
// one account-region's bucket (every account-region has its own budget),
// Port's the requests of every account's shards.
func TestOrgBound(t *testing.T) {
	org := func(kinds, regions, perShard, page, accounts int, awsRate float64, portRate int, trustList bool) Scenario {
		return Scenario{Kinds: DefaultKinds[:kinds], Regions: DefaultRegions[:regions], PerShard: perShard, PageSize: page,
			Accounts: accounts, AWSLatency: 50 * time.Millisecond, AWSRate: awsRate, PortLatency: 80 * time.Millisecond,
			PortRate: portRate, TrustList: trustList}
	}
	cases := []struct {
		name string
		sc   Scenario
		want Bound
	}{
		// 25 calls per account-region fit its burst of 100; 3,000 shards ×
		// (1 bulk + 1 search) = 6,000 requests in windows of 117: 52 windows.
		{"org-200: Port-bound", org(5, 3, 4, 25, 200, 100, 117, false),
			Bound{AWSRequests: 15_000, PortRequests: 6_000, AWS: 0, Port: 51 * time.Second, Chain: 50 * time.Millisecond, Total: 51130 * time.Millisecond}},
		// 5 × (2 pages + 40) = 210 calls per account-region at 4/s after a
		// burst of 4: 51.5 s; the organization's 6,300 calls do not add up
		// because no two account-regions share a bucket.
		{"slow AWS per account-region: AWS-bound", org(5, 3, 40, 25, 10, 4, 117, false),
			Bound{AWSRequests: 6_300, PortRequests: 450, AWS: 51500 * time.Millisecond, Port: 3 * time.Second, Chain: 100 * time.Millisecond, Total: 51630 * time.Millisecond}},
		// List properties trusted: 2 pages per account-region, 1/s after a burst of 1.
		{"trusted list, 50 accounts", org(2, 2, 100, 100, 50, 1, 117, true),
			Bound{AWSRequests: 200, PortRequests: 1_200, AWS: time.Second, Port: 10 * time.Second, Chain: 50 * time.Millisecond, Total: 10130 * time.Millisecond}},
		// One account is the single-account bound (issue 6's full sync).
		{"one account = SyncBound", org(10, 4, 500, 25, 1, 100, 117, false),
			Bound{AWSRequests: 20_800, PortRequests: 1_040, AWS: 51 * time.Second, Port: 8 * time.Second, Chain: time.Second, Total: 51130 * time.Millisecond}},
	}
	if len(cases) < 4 {
		t.Fatalf("%d cases, want at least 4", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OrgBound(c.sc); got != c.want {
				t.Errorf("OrgBound = %+v\nwant       %+v", got, c.want)
			}
			if c.sc.Accounts == 1 {
				if s := SyncBound(c.sc); s != c.want {
					t.Errorf("SyncBound = %+v, want it equal to OrgBound for one account", s)
				}
			}
		})
	}
	named, err := Named(ScenarioOrg200, 0)
	if err != nil {
		t.Fatal(err)
	}
	if named.AllShards() != 3_000 || named.Resources() != 12_000 || OrgBound(named) != cases[0].want {
		t.Errorf("org-200: %d shards, %d resources, bound %+v; want 3,000, 12,000, %+v", named.AllShards(), named.Resources(), OrgBound(named), cases[0].want)
	}
}
