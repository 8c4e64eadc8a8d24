package controller_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// fakeAccounts is a resolved account list.
type fakeAccounts struct {
	list      []controller.Account
	max       int
	refreshed int
}

func (f *fakeAccounts) Refresh(context.Context) error { f.refreshed++; return nil }
func (f *fakeAccounts) Current() []controller.Account { return f.list }
func (f *fakeAccounts) MaxConcurrent() int            { return f.max }

// accountSource holds each account's functions (the same in every region)
// and records which accounts list at once.
type accountSource struct {
	functions map[string][]string

	mu        sync.Mutex
	active    map[string]int
	maxActive int
	listed    map[string][]string // account → regions listed
}

func (s *accountSource) List(ctx context.Context, sh source.Shard, _ source.ListOptions, fn func(source.Resource) error) error {
	s.mu.Lock()
	s.active[sh.AccountID]++
	s.maxActive = max(s.maxActive, len(s.active))
	s.listed[sh.AccountID] = append(s.listed[sh.AccountID], sh.Region)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.active[sh.AccountID]--; s.active[sh.AccountID] == 0 {
			delete(s.active, sh.AccountID)
		}
		s.mu.Unlock()
	}()
	time.Sleep(5 * time.Millisecond)
	for _, name := range s.functions[sh.AccountID] {
		arn := "arn:aws:lambda:" + sh.Region + ":" + sh.AccountID + ":function:" + name
		if err := fn(source.Resource{AccountID: sh.AccountID, Region: sh.Region, Kind: sh.Kind, Identifier: name,
			Properties: map[string]any{"FunctionName": name, "Arn": arn}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *accountSource) Get(context.Context, source.Shard, string) (source.Resource, error) {
	return source.Resource{}, source.ErrNotFound
}

func accountsController(t *testing.T, identifier string, set *fakeAccounts, src *accountSource) *controller.Controller {
	t.Helper()
	cfg, err := config.Parse([]byte(`{"resources": [{"kind": "AWS::Lambda::Function", "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
		"port": {"entity": {"mappings": [{"identifier": "`+identifier+`", "blueprint": "\"lambda\"", "properties": {}}]}}}]}`), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.New(controller.Parts{Mapper: mapper, Source: src, Target: &target.DryRun{}, AccountID: "111111111111", Accounts: set},
		controller.Settings{Concurrency: 8, WriteConcurrency: 4, Policy: plan.Policies["sync"], MaxDeleteShare: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Cases as data: which accounts' shards exist, which fail and why, what
// each account listed, and how many accounts listed at once.
func TestAccountShards(t *testing.T) {
	denied := errors.New("assume role arn:aws:iam::333333333333:role/r: AssumeRole denied")
	cases := []struct {
		name       string
		identifier string
		accounts   []controller.Account
		max        int
		functions  map[string][]string
		// failed: account → text of its shards' error; ok accounts are the rest.
		failed     map[string]string
		listed     map[string]int // account → shards listed
		maxActive  int            // at most this many accounts listing at once; 0: not checked
		shardCount int
	}{
		{
			name:       "each account's shards, a region subset, an account that cannot be read",
			identifier: ".Arn",
			accounts:   []controller.Account{{ID: "111111111111"}, {ID: "222222222222", Regions: []string{"eu-west-1"}}, {ID: "333333333333", Err: denied}},
			functions:  map[string][]string{"111111111111": {"api"}, "222222222222": {"api"}, "333333333333": {"api"}},
			failed:     map[string]string{"333333333333": "account 333333333333 not read, nothing deleted there: assume role"},
			listed:     map[string]int{"111111111111": 2, "222222222222": 1},
			shardCount: 5,
		},
		{
			name:       "a name repeated across accounts fails the shards that produced it",
			identifier: ".FunctionName",
			accounts:   []controller.Account{{ID: "111111111111"}, {ID: "222222222222"}},
			functions:  map[string][]string{"111111111111": {"api", "only-a"}, "222222222222": {"api"}},
			failed: map[string]string{"111111111111": "are produced in more than one account",
				"222222222222": "are produced in more than one account"},
			listed:     map[string]int{"111111111111": 2, "222222222222": 2},
			shardCount: 4,
		},
		{
			name:       "max_concurrent_accounts 1 reads one account at a time",
			identifier: ".Arn",
			accounts:   []controller.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}, {ID: "444444444444"}},
			max:        1,
			functions:  map[string][]string{"111111111111": {"a"}, "222222222222": {"b"}, "333333333333": {"c"}, "444444444444": {"d"}},
			listed:     map[string]int{"111111111111": 2, "222222222222": 2, "333333333333": 2, "444444444444": 2},
			maxActive:  1,
			shardCount: 8,
		},
		{
			name:       "max_concurrent_accounts 2",
			identifier: ".Arn",
			accounts:   []controller.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}, {ID: "444444444444"}},
			max:        2,
			functions:  map[string][]string{"111111111111": {"a"}, "222222222222": {"b"}, "333333333333": {"c"}, "444444444444": {"d"}},
			listed:     map[string]int{"111111111111": 2, "222222222222": 2, "333333333333": 2, "444444444444": 2},
			maxActive:  2,
			shardCount: 8,
		},
	}
	if len(cases) < 4 {
		t.Fatal("table cut short")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := &fakeAccounts{list: tc.accounts, max: tc.max}
			src := &accountSource{functions: tc.functions, active: map[string]int{}, listed: map[string][]string{}}
			c := accountsController(t, tc.identifier, set, src)
			report, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if set.refreshed != 1 {
				t.Errorf("accounts refreshed %d times, want once per sync", set.refreshed)
			}
			if len(report.Shards) != tc.shardCount {
				t.Fatalf("%d shards, want %d", len(report.Shards), tc.shardCount)
			}
			for _, r := range report.Shards {
				want, fails := tc.failed[r.Shard.AccountID]
				switch {
				case fails && (r.OK() || !strings.Contains(r.Errors[0].Error(), want)):
					t.Errorf("%s: errors %v, want %q", r.Shard, r.Errors, want)
				case !fails && !r.OK():
					t.Errorf("%s: %v", r.Shard, r.Errors)
				}
			}
			for account, n := range tc.listed {
				if got := len(src.listed[account]); got != n {
					t.Errorf("account %s listed %d shards (%v), want %d", account, got, src.listed[account], n)
				}
			}
			for account := range src.listed {
				if _, ok := tc.listed[account]; !ok {
					t.Errorf("account %s was listed", account)
				}
			}
			if tc.maxActive > 0 && src.maxActive > tc.maxActive {
				t.Errorf("%d accounts listed at once, want at most %d", src.maxActive, tc.maxActive)
			}
		})
	}
}

// Shard messages and events find a shard only in a configured account.
func TestShardOfAccount(t *testing.T) {
	set := &fakeAccounts{list: []controller.Account{{ID: "111111111111"}, {ID: "222222222222", Regions: []string{"eu-west-1"}}}}
	c := accountsController(t, ".Arn", set, &accountSource{})
	cases := []struct {
		account, region string
		want            bool
	}{
		{"111111111111", "us-east-1", true},
		{"222222222222", "eu-west-1", true},
		{"222222222222", "us-east-1", false}, // outside the account's regions
		{"333333333333", "eu-west-1", false}, // not configured
	}
	for _, tc := range cases {
		sh, ok := c.Shard(tc.account, tc.region, "AWS::Lambda::Function")
		if ok != tc.want || (ok && sh.AccountID != tc.account) {
			t.Errorf("Shard(%s, %s) = %v, %v; want %v", tc.account, tc.region, sh, ok, tc.want)
		}
	}
	r := c.Reconcile(context.Background(), controller.Scope{Shard: source.Shard{AccountID: "333333333333", Region: "eu-west-1", Kind: "AWS::Lambda::Function"}, Resources: []string{"api"}})
	var ae *controller.AccountError
	if r.OK() || !errors.As(r.Errors[0], &ae) || !errors.Is(r.Errors[0], controller.ErrUnknownAccount) {
		t.Errorf("event in an unknown account: %v, want ErrUnknownAccount", r.Errors)
	}
}

// Regions per account, as data: an account's enabled regions (discovered)
// decide where each entry reads there.
func TestAccountRegions(t *testing.T) {
	jsonConfig := `{"resources": [{"kind": "AWS::Lambda::Function", "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
		"port": {"entity": {"mappings": [{"identifier": ".Arn", "blueprint": "\"lambda\"", "properties": {}}]}}}]}`
	oceanConfig := `{"deleteDependentEntities": false, "resources": [{"kind": "AWS::Lambda::Function",
		"selector": {"query": "true", "regionPolicy": {"deny": ["us-east-1"]}},
		"port": {"entity": {"mappings": {"identifier": ".Identifier", "blueprint": "\"lambda\""}}}},
		{"kind": "AWS::S3::Bucket", "selector": {"query": "true"},
		"port": {"entity": {"mappings": {"identifier": ".Identifier", "blueprint": "\"bucket\""}}}}]}`
	enabled := []string{"ap-south-2", "eu-west-1", "us-east-1"}
	cases := []struct {
		name    string
		config  string
		account controller.Account
		want    []string // kind's last part/region of every shard
	}{
		{"not discovered: the config's regions", jsonConfig, controller.Account{ID: "111111111111"},
			[]string{"Function/us-east-1", "Function/eu-west-1"}},
		{"named regions only where enabled", jsonConfig, controller.Account{ID: "111111111111", Enabled: []string{"eu-west-1"}},
			[]string{"Function/eu-west-1"}},
		{"the account's own list narrows", jsonConfig, controller.Account{ID: "111111111111", Enabled: enabled, Regions: []string{"us-east-1"}},
			[]string{"Function/us-east-1"}},
		{"a regionPolicy over the enabled regions, opt-in ones included; S3 once per account",
			oceanConfig, controller.Account{ID: "111111111111", Enabled: enabled, Regions: []string{"*"}},
			[]string{"Function/ap-south-2", "Function/eu-west-1", "Bucket/eu-west-1"}},
	}
	if len(cases) < 4 {
		t.Fatal("table cut short")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.config), config.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if problems := config.Validate(cfg); len(problems) > 0 {
				t.Fatal(problems)
			}
			mapper, err := mapping.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := controller.New(controller.Parts{Mapper: mapper, Source: &accountSource{}, Target: &target.DryRun{}, AccountID: "111111111111",
				DefaultRegion: "eu-west-1", Accounts: &fakeAccounts{list: []controller.Account{tc.account}}},
				controller.Settings{Concurrency: 1, WriteConcurrency: 1, Policy: plan.Policies["sync"], MaxDeleteShare: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			shards, err := c.Shards()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sh := range shards {
				got = append(got, sh.Kind[strings.LastIndex(sh.Kind, ":")+1:]+"/"+sh.Region)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("shards %v, want %v", got, tc.want)
			}
			if _, ok := c.Shard("111111111111", "us-east-1", "AWS::Lambda::Function"); ok != strings.Contains(strings.Join(tc.want, " "), "Function/us-east-1") {
				t.Errorf("Shard(us-east-1) = %v", ok)
			}
		})
	}
}
