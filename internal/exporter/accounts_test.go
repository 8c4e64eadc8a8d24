package exporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const (
	orgRegion  = "us-east-1"
	lambdaKind = "AWS::Lambda::Function"
	// baseKey is the exporter's own access key (moto's default account).
	baseKey = "AKIDMOTOTESTING"
)

// orgBed is an organization in moto (behind the trust gate), one Cloud
// Control emulator per account behind one endpoint that answers from the
// account of the signing key, and the Port double.
type orgBed struct {
	moto  *moto.Server
	admin aws.Config // moto, the management account's credentials
	trust *moto.Trust
	cc    *cloudcontrol.Accounts
	url   string
	org   *moto.Org
	port  *portapi.Server
}

// orgBedSpec: a and d in prod, b in prod-eu (below prod), c in the skipped
// sandbox OU, e at the root; the management account is the exporter's own.
var orgBedSpec = moto.OrgSpec{
	OUs: []moto.OUSpec{{Name: "prod"}, {Name: "prod-eu", Parent: "prod"}, {Name: "sandbox"}},
	Accounts: []moto.AccountSpec{
		{Name: "a", OU: "prod"}, {Name: "b", OU: "prod-eu"}, {Name: "c", OU: "sandbox"}, {Name: "d", OU: "prod"}, {Name: "e"},
	},
}

func newOrgBed(t *testing.T) *orgBed {
	t.Helper()
	m := moto.Start(t)
	ctx := context.Background()
	b := &orgBed{moto: m, admin: m.AWSConfig(ctx, orgRegion)}
	var err error
	if b.org, err = moto.CreateOrganization(ctx, b.admin, orgBedSpec); err != nil {
		t.Fatal(err)
	}
	b.trust = m.NewTrust()
	b.cc = cloudcontrol.NewAccounts(m.AccountOf, b.trust)
	srv := httptest.NewServer(b.cc)
	t.Cleanup(srv.Close)
	b.url = srv.URL
	// Every account has functions of its own, and one of the same name.
	for _, name := range []string{"own", "a", "b", "c", "d", "e"} {
		b.putFunctions(t, name, "shared-fn", "fn-"+name+"-1", "fn-"+name+"-2")
		if name != "own" {
			b.trust.SetRole(b.role(name), moto.RoleTrust{ExternalID: "port-ext"})
		}
	}
	b.port = portapi.New(portapi.Options{})
	t.Cleanup(b.port.Close)
	if err := b.port.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {"account": {"type": "string"}, "memory": {"type": "number"}}}}`)); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *orgBed) id(name string) string {
	if name == "own" {
		return moto.AccountID
	}
	return b.org.Accounts[name]
}

func (b *orgBed) role(name string) string { return "arn:aws:iam::" + b.id(name) + ":role/port-read" }

func (b *orgBed) arn(name, fn string) string {
	return "arn:aws:lambda:" + orgRegion + ":" + b.id(name) + ":function:" + fn
}

func (b *orgBed) putFunctions(t *testing.T, name string, fns ...string) {
	t.Helper()
	for _, fn := range fns {
		if err := b.cc.Account(b.id(name)).Put(orgRegion, lambdaKind, fn, map[string]any{"FunctionName": fn, "Arn": b.arn(name, fn)}); err != nil {
			t.Fatal(err)
		}
	}
}

// options build the exporter on the bed with the base (management) credentials.
func (b *orgBed) options(t *testing.T, cfg string) Options {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := valid()
	s.MaxDeleteShare = 1
	s.AWSRequestsPerSecond = 200
	return Options{
		ConfigLocation: path, NeedPort: true, OneShot: true, Sync: s,
		Port: port.Config{BaseURL: b.port.URL(), ClientID: b.port.ClientID(), ClientSecret: b.port.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion(orgRegion),
			awsconfig.WithBaseEndpoint(b.url),
			awsconfig.WithCredentialsProvider(awscreds.NewStaticCredentialsProvider(baseKey, "moto-test-secret", "")),
		},
	}
}

// orgConfig syncs the organization but the sandbox OU, functions named by ARN.
func (b *orgBed) orgConfig() string {
	return fmt.Sprintf(`{"aws": {"organization": {"member_role_name": "port-read", "external_id": "port-ext",
		"skip_organizational_units": [%q]}},
	  "resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifier": ".Arn", "title": ".FunctionName",
	    "blueprint": "\"lambda\"", "properties": {"account": ".Arn | split(\":\")[4]", "memory": ".MemorySize"}}]}}}]}`, b.org.OUs["sandbox"])
}

// entities are the identifiers of the lambda entities in Port, sorted.
func (b *orgBed) entities() []string {
	var out []string
	for _, e := range b.port.Entities("lambda") {
		out = append(out, e.Identifier)
	}
	slices.Sort(out)
	return out
}

func (b *orgBed) arns(names []string, fns ...string) []string {
	var out []string
	for _, n := range names {
		for _, fn := range fns {
			out = append(out, b.arn(n, strings.ReplaceAll(fn, "%", n)))
		}
	}
	slices.Sort(out)
	return out
}

// reportsByAccount keys a report's shards by account name.
func (b *orgBed) reportsByAccount(t *testing.T, r controller.Report) map[string]controller.ShardReport {
	t.Helper()
	out := map[string]controller.ShardReport{}
	for _, s := range r.Shards {
		name := ""
		for _, n := range []string{"own", "a", "b", "c", "d", "e"} {
			if b.id(n) == s.Shard.AccountID {
				name = n
			}
		}
		if name == "" {
			t.Fatalf("a shard of account %s, which is not the bed's", s.Shard.AccountID)
		}
		out[name] = s
	}
	return out
}

// TestOrganizationSync: a sync with organization: reads every member
// account with its own role; one account whose trust is broken fails alone
// and loses nothing; every Cloud Control call is signed with the
// credentials of the account it reads. Then, between two syncs, an account
// leaves the organization, another's key expires in the middle of its
// listing, and a function is deleted.
func TestOrganizationSync(t *testing.T) {
	bed := newOrgBed(t)
	ctx := context.Background()
	// d's role no longer trusts the exporter; d's entity from an earlier
	// sync must survive although d's function is gone.
	bed.trust.SetRole(bed.role("d"), moto.RoleTrust{Broken: true})
	dShard := source.Shard{AccountID: bed.id("d"), Region: orgRegion, Kind: lambdaKind}
	bed.port.Put(registry.UserAgent(dShard), entity.Entity{Blueprint: "lambda", Identifier: bed.arn("d", "fn-d-gone"), Properties: map[string]any{}})

	b, err := Build(ctx, bed.options(t, bed.orgConfig()))
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Controller.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byAccount := bed.reportsByAccount(t, report)
	if len(byAccount) != 5 || byAccount["c"].Shard.AccountID != "" {
		t.Fatalf("shards of %d accounts (%v), want own, a, b, d, e (c's OU is skipped)", len(byAccount), byAccount)
	}
	for name, r := range byAccount {
		if name == "d" {
			var ae *controller.AccountError
			if r.OK() || len(r.Errors) != 1 || !errorsAs(r.Errors[0], &ae) || !strings.Contains(r.Errors[0].Error(), "AssumeRole denied") {
				t.Errorf("account d: errors %v, want one AccountError saying AssumeRole denied", r.Errors)
			}
			if r.Deleted != 0 || r.Listed != 0 {
				t.Errorf("account d listed %d, deleted %d; want nothing", r.Listed, r.Deleted)
			}
			continue
		}
		if !r.OK() || r.Upserted != 3 {
			t.Errorf("account %s: upserted %d, errors %v; want 3 and none", name, r.Upserted, r.Errors)
		}
	}
	want := append(bed.arns([]string{"own", "a", "b", "e"}, "shared-fn", "fn-%-1", "fn-%-2"), bed.arn("d", "fn-d-gone"))
	slices.Sort(want)
	if got := bed.entities(); !slices.Equal(got, want) {
		t.Fatalf("Port holds\n  %v\nwant\n  %v", got, want)
	}
	// Same-named functions are apart: a's is written by a's shard, with a's account.
	for _, name := range []string{"own", "a", "b", "e"} {
		e, _ := bed.port.Entity("lambda", bed.arn(name, "shared-fn"))
		if !strings.Contains(e.Datasource, "accountid/"+bed.id(name)+" ") || e.Properties["account"] != bed.id(name) {
			t.Errorf("%s's shared-fn: datasource %q, account %v", name, e.Datasource, e.Properties["account"])
		}
	}
	assertSigning(t, bed, map[string]bool{"own": true, "a": true, "b": true, "e": true})
	assumed := map[string]int{}
	for _, c := range bed.trust.Calls() {
		assumed[c.RoleARN]++
		if c.ExternalID != "port-ext" || c.SessionName != "port-aws-exporter-"+moto.AccountID {
			t.Errorf("AssumeRole %+v, want external ID port-ext and session port-aws-exporter-%s", c, moto.AccountID)
		}
	}
	for _, name := range []string{"a", "b", "d", "e"} {
		if assumed[bed.role(name)] != 1 {
			t.Errorf("account %s: %d AssumeRole calls in the first sync, want 1 (%v)", name, assumed[bed.role(name)], assumed)
		}
	}
	if assumed[bed.role("c")] != 0 {
		t.Error("c's role was assumed although its OU is skipped")
	}

	// Between the syncs: b leaves the organization, a loses a function and
	// gets more (a listing of several pages), and a's key is revoked after
	// two more calls, in the middle of its listing.
	if err := bed.org.Remove(ctx, bed.admin, "b"); err != nil {
		t.Fatal(err)
	}
	bed.cc.Account(bed.id("a")).Delete(orgRegion, lambdaKind, "fn-a-2")
	var more []string
	for i := range 60 {
		more = append(more, fmt.Sprintf("fn-a-more-%02d", i))
	}
	bed.putFunctions(t, "a", more...)
	bed.cc.ResetCalls()
	bed.cc.RevokeAfter(bed.id("a"), 2)
	report, err = b.Controller.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byAccount = bed.reportsByAccount(t, report)
	if _, ok := byAccount["b"]; ok || len(byAccount) != 4 {
		t.Fatalf("second sync: shards of %v, want own, a, d, e (b left)", byAccount)
	}
	if r := byAccount["a"]; !r.OK() || r.Upserted != 62 || r.Deleted != 1 {
		t.Errorf("account a after its key expired: upserted %d, deleted %d, errors %v; want 62, 1, none", r.Upserted, r.Deleted, r.Errors)
	}
	if bed.cc.Expired() == 0 {
		t.Error("no call was answered ExpiredTokenException: the revocation did not happen mid-listing")
	}
	aCalls := 0
	for _, c := range bed.trust.Calls() {
		if c.RoleARN == bed.role("a") {
			aCalls++
		}
	}
	t.Logf("second sync: %d Cloud Control calls, %d answered ExpiredTokenException, %d AssumeRole calls for a in both syncs",
		len(bed.cc.Calls()), bed.cc.Expired(), aCalls)
	if aCalls < 2 || aCalls > 1+bed.cc.Expired() {
		t.Errorf("account a: %d AssumeRole calls, want a fresh one after the expiry (2..%d)", aCalls, 1+bed.cc.Expired())
	}
	// b's entities stay: no shard of the configured accounts owns them, and
	// an account that left is not proof that its resources are gone.
	for _, fn := range []string{"shared-fn", "fn-b-1", "fn-b-2"} {
		if _, ok := bed.port.Entity("lambda", bed.arn("b", fn)); !ok {
			t.Errorf("b's %s was deleted after b left the organization", fn)
		}
	}
	if _, ok := bed.port.Entity("lambda", bed.arn("a", "fn-a-2")); ok {
		t.Error("a's deleted function is still in Port")
	}
	if _, ok := bed.port.Entity("lambda", bed.arn("d", "fn-d-gone")); !ok {
		t.Error("d's entity was deleted although d could not be read")
	}
	assertSigning(t, bed, map[string]bool{"own": true, "a": true, "e": true})

	// Third sync: a's key is revoked mid-listing again, and now a's role
	// no longer trusts the exporter: the refresh fails, a's shard fails,
	// and nothing is deleted in a although a function is gone.
	bed.trust.SetRole(bed.role("a"), moto.RoleTrust{Broken: true})
	bed.cc.Account(bed.id("a")).Delete(orgRegion, lambdaKind, "fn-a-1")
	bed.cc.RevokeAfter(bed.id("a"), 2)
	report, err = b.Controller.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byAccount = bed.reportsByAccount(t, report)
	if r := byAccount["a"]; r.OK() || r.Deleted != 0 || !strings.Contains(fmt.Sprint(r.Errors), "AccessDenied") {
		t.Errorf("account a, refresh denied: deleted %d, errors %v; want failed with AccessDenied, nothing deleted", r.Deleted, r.Errors)
	}
	if _, ok := bed.port.Entity("lambda", bed.arn("a", "fn-a-1")); !ok {
		t.Error("a's fn-a-1 was deleted by a shard whose listing failed")
	}
	if r := byAccount["e"]; !r.OK() {
		t.Errorf("account e: %v", r.Errors)
	}
}

// assertSigning: every Cloud Control call was answered from the account of
// its signing key, and only the accounts read were called; the own account's
// calls carry the base key, a member's an assumed-role key.
func assertSigning(t *testing.T, bed *orgBed, read map[string]bool) {
	t.Helper()
	calls := bed.cc.Calls()
	if len(calls) == 0 {
		t.Fatal("no Cloud Control call recorded")
	}
	seen := map[string]int{}
	for _, c := range calls {
		name := ""
		for n := range read {
			if bed.id(n) == c.Account {
				name = n
			}
		}
		if name == "" {
			t.Errorf("a %s call signed with %s, a key of account %s, which should not be read", c.Op, c.AccessKeyID, c.Account)
			continue
		}
		seen[name]++
		if (name == "own") != (c.AccessKeyID == baseKey) {
			t.Errorf("account %s read with key %s (base key %s)", name, c.AccessKeyID, baseKey)
		}
	}
	for n := range read {
		if seen[n] == 0 {
			t.Errorf("account %s was not read", n)
		}
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestOrganizationEvents: an event names its account (account_id); it is
// read with that account's credentials and touches that account's entity
// only, even when every account has a function of the same name. Cases as
// data, in order, on one organization after a full sync.
func TestOrganizationEvents(t *testing.T) {
	bed := newOrgBed(t)
	ctx := context.Background()
	opts := bed.options(t, bed.orgConfig())
	opts.Events = &EventSettings{Concurrency: 4, Timeout: 20 * time.Second}
	b, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if report, err := b.Controller.Run(ctx); err != nil || !report.OK() {
		t.Fatalf("full sync: %v, ok %v", err, report.OK())
	}
	type message struct{ account, action, identifier, resource string }
	cases := []struct {
		name   string
		change func()
		msgs   []message
		// status per message ("permanent:<reason>" or "ok"), and which
		// accounts' shared-fn entities must be in Port afterwards.
		want     []string
		present  []string
		absent   []string
		calledIn []string // accounts Cloud Control was called in
		check    func(t *testing.T)
	}{
		{
			name:   "a member account's delete removes its entity only",
			change: func() { bed.cc.Account(bed.id("b")).Delete(orgRegion, lambdaKind, "shared-fn") },
			msgs:   []message{{account: "b", action: "delete", identifier: bed.arn("b", "shared-fn"), resource: "shared-fn"}},
			want:   []string{"ok"}, present: []string{"own", "a", "e"}, absent: []string{"b"}, calledIn: []string{"b"},
		},
		{
			name: "a member account's update reads that account",
			change: func() {
				_ = bed.cc.Account(bed.id("a")).Put(orgRegion, lambdaKind, "shared-fn", map[string]any{"FunctionName": "shared-fn", "Arn": bed.arn("a", "shared-fn"), "MemorySize": 512})
			},
			msgs: []message{{account: "a", action: "upsert", identifier: "shared-fn"}},
			want: []string{"ok"}, present: []string{"own", "a", "e"}, absent: []string{"b"}, calledIn: []string{"a"},
			check: func(t *testing.T) {
				for name, want := range map[string]any{"a": 512, "own": nil, "e": nil} {
					if e, _ := bed.port.Entity("lambda", bed.arn(name, "shared-fn")); fmt.Sprint(e.Properties["memory"]) != fmt.Sprint(want) {
						t.Errorf("%s's shared-fn memory %v, want %v", name, e.Properties["memory"], want)
					}
				}
			},
		},
		{
			name:   "a message without account_id is the exporter's own account",
			change: func() { bed.cc.Account(moto.AccountID).Delete(orgRegion, lambdaKind, "shared-fn") },
			msgs:   []message{{action: "delete", identifier: bed.arn("own", "shared-fn"), resource: "shared-fn"}},
			want:   []string{"ok"}, present: []string{"a", "e"}, absent: []string{"own", "b"}, calledIn: []string{"own"},
		},
		{
			name: "an account outside the configured set is dead-lettered unread",
			msgs: []message{{account: "c", action: "upsert", identifier: "shared-fn"}},
			want: []string{"permanent:unknown_account"}, present: []string{"a", "e"}, absent: []string{"own", "b", "c"},
		},
		{
			name: "two accounts' same-named functions in one batch are two reconciles",
			change: func() {
				bed.cc.Account(bed.id("a")).Delete(orgRegion, lambdaKind, "shared-fn")
				bed.cc.Account(bed.id("e")).Delete(orgRegion, lambdaKind, "shared-fn")
			},
			msgs: []message{
				{account: "a", action: "delete", identifier: bed.arn("a", "shared-fn"), resource: "shared-fn"},
				{account: "e", action: "delete", identifier: bed.arn("e", "shared-fn"), resource: "shared-fn"},
			},
			want: []string{"ok", "ok"}, absent: []string{"own", "a", "b", "e"}, calledIn: []string{"a", "e"},
		},
	}
	if len(cases) < 5 {
		t.Fatal("table cut short")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change != nil {
				tc.change()
			}
			bed.cc.ResetCalls()
			var items []dispatch.Item
			for j, m := range tc.msgs {
				body := map[string]string{"resource_type": lambdaKind, "region": `"` + orgRegion + `"`,
					"action": `"` + m.action + `"`, "identifier": `"` + m.identifier + `"`}
				if m.resource != "" {
					body["resource_identifier"] = `"` + m.resource + `"`
				}
				if m.account != "" {
					body["account_id"] = `"` + bed.id(m.account) + `"`
				}
				raw, _ := json.Marshal(body)
				items = append(items, dispatch.Item{ID: fmt.Sprintf("m%d-%d", i, j), Body: raw})
			}
			outs := b.Events.HandleBatch(ctx, items)
			for j, o := range outs {
				got := o.Status.String()
				if o.Status == dispatch.StatusDeadLetter {
					got += ":" + o.Reason
				}
				if got != tc.want[j] {
					t.Errorf("message %d: %s (%v), want %s", j, got, o.Err, tc.want[j])
				}
			}
			for _, n := range tc.present {
				if _, ok := bed.port.Entity("lambda", bed.arn(n, "shared-fn")); !ok {
					t.Errorf("%s's shared-fn entity is gone", n)
				}
			}
			for _, n := range tc.absent {
				if _, ok := bed.port.Entity("lambda", bed.arn(n, "shared-fn")); ok {
					t.Errorf("%s's shared-fn entity is in Port", n)
				}
			}
			called := map[string]bool{}
			for _, c := range bed.cc.Calls() {
				for _, n := range []string{"own", "a", "b", "c", "d", "e"} {
					if bed.id(n) == c.Account {
						called[n] = true
					}
				}
				if (c.Account == moto.AccountID) != (c.AccessKeyID == baseKey) {
					t.Errorf("account %s read with key %s", c.Account, c.AccessKeyID)
				}
			}
			var calledIn []string
			for n := range called {
				calledIn = append(calledIn, n)
			}
			slices.Sort(calledIn)
			if !slices.Equal(calledIn, tc.calledIn) {
				t.Errorf("Cloud Control called in %v, want %v", calledIn, tc.calledIn)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
	if e, ok := bed.port.Entity("lambda", bed.arn("a", "shared-fn")); ok {
		t.Errorf("a's shared-fn still in Port: %+v", e)
	}
}

// A regionPolicy that allows every region but one reads, in each account,
// the regions that account has enabled (discovered with its own key): a
// function in eu-west-1 of a member account syncs although no region is
// named anywhere.
func TestOrganizationDiscoversRegions(t *testing.T) {
	bed := newOrgBed(t)
	ctx := context.Background()
	if err := bed.cc.Account(bed.id("a")).Put("eu-west-1", lambdaKind, "eu-fn", map[string]any{"FunctionName": "eu-fn",
		"Arn": "arn:aws:lambda:eu-west-1:" + bed.id("a") + ":function:eu-fn"}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"aws": {"accounts": [{"role_arn": %q, "external_id": "port-ext"}]},
	  "deleteDependentEntities": false,
	  "resources": [{"kind": "AWS::Lambda::Function", "selector": {"query": "true", "regionPolicy": {"deny": ["us-east-1"]}},
	    "port": {"entity": {"mappings": {"identifier": ".Properties.Arn", "blueprint": "\"lambda\""}}}}]}`, bed.role("a"))
	b, err := Build(ctx, bed.options(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Controller.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]map[string]bool{}
	for _, s := range report.Shards {
		if regions[s.Shard.AccountID] == nil {
			regions[s.Shard.AccountID] = map[string]bool{}
		}
		regions[s.Shard.AccountID][s.Shard.Region] = true
	}
	for _, id := range []string{moto.AccountID, bed.id("a")} {
		if !regions[id]["eu-west-1"] || regions[id]["us-east-1"] || len(regions[id]) < 10 {
			t.Errorf("account %s read %d regions (eu-west-1 %v, us-east-1 %v); want the enabled ones but us-east-1",
				id, len(regions[id]), regions[id]["eu-west-1"], regions[id]["us-east-1"])
		}
	}
	if _, ok := bed.port.Entity("lambda", "arn:aws:lambda:eu-west-1:"+bed.id("a")+":function:eu-fn"); !ok {
		t.Errorf("a's eu-west-1 function is not in Port: %v", bed.entities())
	}
	t.Logf("%d shards over %d regions per account", len(report.Shards), len(regions[bed.id("a")]))
}
