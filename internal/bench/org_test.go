package bench

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// TestTinyOrganizationThroughLambda: the org scenario shrunk to seconds (6
// accounts in four OUs × 2 regions × 2 kinds × 3 resources, 2 containers),
// the shard messages through moto's SQS and then from memory: every shard is
// sent and settled once with nothing failed, every resource lands in Port
// (as many entities as resources: the same names in six accounts did not
// collide, each is identified by its account's ARN), each container assumes
// each member role at most once and none is refused, and no fewer Cloud
// Control calls were made than the bound counts.
func TestTinyOrganizationThroughLambda(t *testing.T) {
	sc, err := Named(ScenarioOrg200, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Accounts, sc.Kinds, sc.Regions, sc.PerShard, sc.PageSize = 6, DefaultKinds[:2], DefaultRegions[:2], 3, 2
	sc.AWSLatency, sc.AWSRate, sc.PortLatency, sc.PortRate = 5*time.Millisecond, 20, 8*time.Millisecond, 50
	const containers = 2
	for _, memory := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqs", true: "memory"}[memory], func(t *testing.T) { tinyOrg(t, sc, containers, memory) })
	}
}

func tinyOrg(t *testing.T, sc Scenario, containers int, memory bool) {
	res, err := RunOrg(t.Context(), sc, func(ctx context.Context, ep Endpoints) (OrgLambdaRun, error) {
		return RunOrgLambda(ctx, ep, OrgLambdaSettings{Containers: containers, Deadline: 2 * time.Minute, Memory: memory}, nil)
	}, nil)
	if err != nil {
		if errors.Is(err, errNoMoto) && os.Getenv("REQUIRE_TEST_PEERS") != "1" && os.Getenv("CI") != "true" {
			t.Skipf("moto_server not found: %v (set %s)", err, moto.EnvBinary)
		}
		t.Fatal(err)
	}
	t.Logf("wall %v, bound %v, ratio %.2f; fan-out %v; %d invocations; AWS %d (throttled %d, busiest account-region %d); Port %d (429 %d); AssumeRole %d; peak RSS %.1f MB",
		res.Wall, res.Bound.Total, res.Ratio, res.Run.FanOut, res.Run.Invocations, res.AWSRequests, res.AWSThrottled,
		res.BusiestAccountRegion, res.PortRequests, res.Port429, res.AssumeRole, float64(res.Run.PeakRSS)/(1<<20))
	if res.Accounts != 6 || res.Run.Shards != 6*4 || res.Entities != sc.Resources() || res.Run.Failed != 0 {
		t.Errorf("%d accounts, %d shards sent, %d entities, %d failed; want 6, 24, %d, 0", res.Accounts, res.Run.Shards, res.Entities, res.Run.Failed, sc.Resources())
	}
	if res.Run.Listed != sc.Resources() || res.Run.Upserted != sc.Resources() {
		t.Errorf("shard summaries: listed %d, upserted %d; want %d each", res.Run.Listed, res.Run.Upserted, sc.Resources())
	}
	// One AssumeRole per member account per container at most, at least
	// one per account, none refused.
	if res.AssumeRole < res.Accounts || res.AssumeRole > containers*res.Accounts || res.AssumeRoleDenied != 0 {
		t.Errorf("%d AssumeRole calls (%d denied), want %d..%d, none denied", res.AssumeRole, res.AssumeRoleDenied, res.Accounts, containers*res.Accounts)
	}
	if res.AWSRequests < res.Bound.AWSRequests {
		t.Errorf("%d Cloud Control calls, fewer than the %d needed", res.AWSRequests, res.Bound.AWSRequests)
	}
	if res.Ratio < 1 {
		t.Errorf("wall %v under the bound %v: the bound is wrong", res.Wall, res.Bound.Total)
	}
}
