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
