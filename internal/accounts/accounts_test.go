package accounts

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// orgSpec: the management account (moto's) over prod (with a nested eu),
// sandbox (skipped by some cases), a closed account, and one at the root.
var orgSpec = moto.OrgSpec{
	OUs: []moto.OUSpec{{Name: "prod"}, {Name: "prod-eu", Parent: "prod"}, {Name: "sandbox"}},
	Accounts: []moto.AccountSpec{
		{Name: "a", OU: "prod"}, {Name: "b", OU: "prod-eu"}, {Name: "c", OU: "sandbox"},
		{Name: "d", OU: "prod"}, {Name: "e"}, {Name: "closed", OU: "prod", Closed: true},
	},
}

// orgWorld is moto with orgSpec behind the trust gate.
type orgWorld struct {
	trust *moto.Trust
	org   *moto.Org
	opts  Options
}

func newOrgWorld(t *testing.T) *orgWorld {
	t.Helper()
	m := moto.Start(t)
	ctx := context.Background()
	cfg := m.AWSConfig(ctx, "us-east-1")
	org, err := moto.CreateOrganization(ctx, cfg, orgSpec)
	if err != nil {
		t.Fatal(err)
	}
	trust := m.NewTrust()
	srv := httptest.NewServer(trust)
	t.Cleanup(srv.Close)
	base := cfg.Copy()
	base.BaseEndpoint = &srv.URL
	return &orgWorld{trust: trust, org: org, opts: Options{Base: base, OwnAccountID: moto.AccountID}}
}

func (w *orgWorld) names(accts []Account) []string {
	var out []string
	for _, a := range accts {
		if a.Own() {
			out = append(out, "own")
			continue
		}
		for name, id := range w.org.Accounts {
			if id == a.ID {
				out = append(out, name)
			}
		}
	}
	return out
}

// The organization's accounts as each config asks: OUs with their
// children, skipped OUs and accounts, only ACTIVE ones, the management
// account read as the own account (or not at all).
func TestResolveOrganization(t *testing.T) {
	w := newOrgWorld(t)
	cases := []struct {
		name string
		org  config.Organization
		own  bool
		want []string
	}{
		{"whole organization", config.Organization{}, true, []string{"own", "a", "b", "c", "d", "e"}},
		{"skipped OU", config.Organization{SkipOrganizationalUnits: []string{"sandbox"}}, true, []string{"own", "a", "b", "d", "e"}},
		{"an OU and the OU below it", config.Organization{OrganizationalUnits: []string{"prod"}}, true, []string{"own", "a", "b", "d"}},
		{"an OU minus its child", config.Organization{OrganizationalUnits: []string{"prod"}, SkipOrganizationalUnits: []string{"prod-eu"}}, true, []string{"own", "a", "d"}},
		{"the root as an OU, an account skipped, own account left out", config.Organization{OrganizationalUnits: []string{"root"}, SkipAccounts: []string{"e"}}, false, []string{"a", "b", "c", "d"}},
		{"a nested OU alone", config.Organization{OrganizationalUnits: []string{"prod-eu"}}, true, []string{"own", "b"}},
	}
	if len(cases) < 6 {
		t.Fatal("table cut short")
	}
	ids := func(names []string, ou bool) []string {
		var out []string
		for _, n := range names {
			switch {
			case ou && n == "root":
				out = append(out, w.org.RootID)
			case ou:
				out = append(out, w.org.OUs[n])
			default:
				out = append(out, w.org.Accounts[n])
			}
		}
		return out
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.org
			o.MemberRoleName = "port-read"
			o.OrganizationalUnits = ids(o.OrganizationalUnits, true)
			o.SkipOrganizationalUnits = ids(o.SkipOrganizationalUnits, true)
			o.SkipAccounts = ids(o.SkipAccounts, false)
			r, err := New(&config.AWS{Organization: &o, IncludeOwnAccount: &tc.own}, w.opts)
			if err != nil {
				t.Fatal(err)
			}
			accts, err := r.Resolve(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			got := w.names(accts)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("accounts %v, want %v", got, want)
			}
			for _, a := range accts {
				if !a.Own() && a.RoleARN != "arn:aws:iam::"+a.ID+":role/port-read" {
					t.Errorf("account %s role %s", a.ID, a.RoleARN)
				}
			}
		})
	}
}

// Credentials: one AssumeRole per account for two resolutions, with the
// external ID and the exporter's session name; a broken trust and a wrong
// external ID fail their account alone, and are never replaced by the base
// credentials.
func TestResolveCredentials(t *testing.T) {
	w := newOrgWorld(t)
	role := func(name string) string { return "arn:aws:iam::" + w.org.Accounts[name] + ":role/port-read" }
	w.trust.SetRole(role("a"), moto.RoleTrust{ExternalID: "port-ext"})
	w.trust.SetRole(role("b"), moto.RoleTrust{ExternalID: "port-ext"})
	w.trust.SetRole(role("d"), moto.RoleTrust{Broken: true})
	w.trust.SetRole(role("e"), moto.RoleTrust{ExternalID: "another"})
	r, err := New(&config.AWS{Accounts: []config.AccountRole{
		{RoleARN: role("a"), ExternalID: "port-ext", Regions: []string{"eu-west-1"}},
		{RoleARN: role("b"), ExternalID: "port-ext"},
		{RoleARN: role("d"), ExternalID: "port-ext"},
		{RoleARN: role("e"), ExternalID: "port-ext"},
	}}, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for round := range 2 {
		accts, err := r.Resolve(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		got := w.names(accts)
		if slices.Sort(got[1:]); !slices.Equal(got, []string{"own", "a", "b", "d", "e"}) {
			t.Fatalf("round %d: accounts %v", round, got)
		}
		for _, a := range accts {
			name := w.names([]Account{a})[0]
			failed := name == "d" || name == "e"
			switch {
			case failed && (a.Err == nil || !strings.Contains(a.Err.Error(), "AssumeRole denied")):
				t.Errorf("round %d: account %s: error %v, want AssumeRole denied", round, name, a.Err)
			case failed && a.AWS.Credentials != nil:
				t.Errorf("round %d: account %s failed but has credentials", round, name)
			case !failed && a.Err != nil:
				t.Errorf("round %d: account %s: %v", round, name, a.Err)
			case !failed && !a.Own():
				creds, err := a.AWS.Credentials.Retrieve(ctx)
				if err != nil || creds.AccessKeyID == "AKIDMOTOTESTING" || creds.SessionToken == "" {
					t.Errorf("round %d: account %s: credentials %s (%v), want assumed ones", round, name, creds.AccessKeyID, err)
				}
			}
			if name == "a" && !slices.Equal(a.Regions, []string{"eu-west-1"}) {
				t.Errorf("account a regions %v", a.Regions)
			}
		}
	}
	perRole := map[string]int{}
	for _, c := range w.trust.Calls() {
		perRole[c.RoleARN]++
		if c.ExternalID != "port-ext" || c.SessionName != "port-aws-exporter-"+moto.AccountID || c.DurationSeconds != "3600" {
			t.Errorf("AssumeRole %+v: want external ID port-ext, session port-aws-exporter-%s, an hour", c, moto.AccountID)
		}
	}
	// Successful roles once over both rounds; failed ones once per round
	// (a failure is not cached: the next sync tries again).
	want := map[string]int{role("a"): 1, role("b"): 1, role("d"): 2, role("e"): 2}
	for arn, n := range want {
		if perRole[arn] != n {
			t.Errorf("AssumeRole %s: %d calls, want %d (all: %v)", arn, perRole[arn], n, perRole)
		}
	}
}

// Enabled regions are listed with each account's own credentials: for an
// account whose regions say "*", or all with DiscoverRegions; an account
// whose listing fails is not read.
func TestResolveDiscoversRegions(t *testing.T) {
	w := newOrgWorld(t)
	role := func(name string) string { return "arn:aws:iam::" + w.org.Accounts[name] + ":role/port-read" }
	cfg := &config.AWS{Accounts: []config.AccountRole{{RoleARN: role("a"), Regions: []string{"*"}}, {RoleARN: role("b")}}}
	for _, discoverAll := range []bool{false, true} {
		opts := w.opts
		opts.DiscoverRegions = discoverAll
		var keys []string
		opts.EnabledRegions = func(ctx context.Context, c aws.Config) ([]string, error) {
			creds, err := c.Credentials.Retrieve(ctx)
			if err != nil {
				return nil, err
			}
			keys = append(keys, creds.AccessKeyID)
			return describeRegions(ctx, c)
		}
		r, err := New(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		accts, err := r.Resolve(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			name := w.names([]Account{a})[0]
			want := discoverAll || name == "a"
			if got := a.Enabled != nil; got != want || (got && !slices.Contains(a.Enabled, "eu-west-1")) {
				t.Errorf("discover all %v: account %s enabled %v", discoverAll, name, a.Enabled)
			}
		}
		base := 0
		for _, k := range keys {
			if k == "AKIDMOTOTESTING" {
				base++
			}
		}
		// Only the own account's regions are listed with the base key.
		if n := len(keys); n != map[bool]int{false: 1, true: 3}[discoverAll] || base != map[bool]int{false: 0, true: 1}[discoverAll] {
			t.Errorf("discover all %v: listed with keys %v", discoverAll, keys)
		}
	}
	opts := w.opts
	opts.EnabledRegions = func(context.Context, aws.Config) ([]string, error) { return nil, errors.New("UnauthorizedOperation") }
	r, _ := New(cfg, opts)
	accts, err := r.Resolve(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if name := w.names([]Account{a})[0]; (name == "a") != (a.Err != nil) {
			t.Errorf("account %s: error %v; want one for a only (its regions could not be listed)", name, a.Err)
		}
	}
}
