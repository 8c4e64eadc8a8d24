package metrics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/metrics"
)

// An organization of 150 accounts keeps one shard series per account once
// the accounts are set; an account not among them counts as other.
func TestAccountsSetKeepsEveryAccount(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf("%012d", 100000000000+i))
	}
	m.SetAccounts(ids...)
	for _, id := range ids {
		m.ShardSynced(id, "eu-west-1", "AWS::Lambda::Function", time.Second, true)
	}
	m.ShardSynced("999999999999", "eu-west-1", "AWS::Lambda::Function", time.Second, true)
	got := series(t, scrape(t, reg), "port_aws_exporter_sync_duration_seconds", "account")
	if len(got) != 151 || got[metrics.Other] == 0 || got[ids[149]] == 0 {
		t.Errorf("%d account series (other %v), want 150 accounts and other", len(got), got[metrics.Other])
	}
}
