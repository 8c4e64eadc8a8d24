package bench

import (
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/cli"
)

// tinySync is a scenario small enough for CI (a few seconds) that still has
// several shards per region, several pages per shard, and limits that bind.
func tinySync(t testing.TB) Scenario {
	sc, err := Named(ScenarioFullSync, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Kinds, sc.Regions, sc.PerShard, sc.PageSize = DefaultKinds[:3], DefaultRegions[:2], 45, 10
	sc.AWSLatency, sc.AWSRate = 5*time.Millisecond, 60
	sc.PortLatency, sc.PortRate = 8*time.Millisecond, 20
	return sc
}

func TestTinySyncMeetsItsBound(t *testing.T) {
	sc := tinySync(t)
	res, err := RunSync(t.Context(), sc, InProcess(Settings{Sync: cli.SyncDefaults(), PaceAWS: true, PacePort: true}), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wall %v, bound %v (aws %v, port %v), ratio %.2f, aws %d (throttled %d), port %d (429 %d), %.1f entities/request",
		res.Wall, res.Bound.Total, res.Bound.AWS, res.Bound.Port, res.Ratio, res.AWSRequests, res.AWSThrottled,
		res.PortRequests, res.Port429, res.EntitiesPerPortRequest)
	if res.Run.Upserted != sc.Resources() {
		t.Errorf("upserted %d, want %d", res.Run.Upserted, sc.Resources())
	}
	if res.Ratio < 1 {
		t.Errorf("sync took %v, less than its lower bound %v: the bound is wrong", res.Wall, res.Bound.Total)
	}
	if res.AWSRequests < res.Bound.AWSRequests {
		t.Errorf("%d AWS requests, fewer than the %d the bound says are needed", res.AWSRequests, res.Bound.AWSRequests)
	}
	if res.PortBulkUpserts < res.Bound.PortRequests-sc.Shards() {
		t.Errorf("%d bulk upserts, fewer than the %d full bulks the entities need", res.PortBulkUpserts, res.Bound.PortRequests-sc.Shards())
	}
	if res.PortSingleWrites != 0 {
		t.Errorf("%d single-entity upserts in a full sync, want bulk requests only", res.PortSingleWrites)
	}
	if res.PeakRSS <= 0 {
		t.Errorf("peak RSS %d", res.PeakRSS)
	}
}
