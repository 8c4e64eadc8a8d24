package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// `sync` of an organization through the real CLI and the standard AWS
// environment (one endpoint: moto behind the trust gate for STS and
// Organizations, the account-partitioned Cloud Control emulator): the
// summary groups the accounts, and the account whose trust is broken is
// one row and one line saying why; the exit code is 1.
func TestSyncOrganizationSummary(t *testing.T) {
	m := moto.Start(t)
	ctx := context.Background()
	admin := m.AWSConfig(ctx, "us-east-1")
	org, err := moto.CreateOrganization(ctx, admin, moto.OrgSpec{
		OUs:      []moto.OUSpec{{Name: "prod"}},
		Accounts: []moto.AccountSpec{{Name: "a", OU: "prod"}, {Name: "b", OU: "prod"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	trust := m.NewTrust()
	trust.SetRole("arn:aws:iam::"+org.Accounts["b"]+":role/port-read", moto.RoleTrust{Broken: true})
	router := cloudcontrol.NewAccounts(m.AccountOf, trust)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	for _, id := range []string{moto.AccountID, org.Accounts["a"], org.Accounts["b"]} {
		if err := router.Account(id).Put("us-east-1", "AWS::Lambda::Function", "api", map[string]any{
			"FunctionName": "api", "Arn": "arn:aws:lambda:us-east-1:" + id + ":function:api"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	double := portFromEnvironment(t)
	if err := double.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {}}}`)); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "port-app-config.yml", fmt.Sprintf(`
aws:
  organization:
    member_role_name: port-read
    organizational_units: [%s]
deleteDependentEntities: false
resources:
  - kind: AWS::Lambda::Function
    selector:
      query: 'true'
      regionPolicy:
        allow: [us-east-1]
    port:
      entity:
        mappings:
          identifier: .Properties.Arn
          title: .Properties.FunctionName
          blueprint: '"lambda"'
`, org.OUs["prod"]))

	stdout, stderr, err := runCLISplit(t, "sync", "--config", cfg, "--summary", "json")
	if exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1 (account b cannot be read)\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	var s cli.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]cli.AccountSummary{}
	for _, a := range s.Accounts {
		got[a.Account] = a
	}
	if len(got) != 3 || got[moto.AccountID].Status != "ok" || got[org.Accounts["a"]].Upserted != 1 ||
		got[org.Accounts["b"]].Status != "failed" || !strings.Contains(got[org.Accounts["b"]].Error, "AssumeRole denied") {
		t.Fatalf("accounts %+v", s.Accounts)
	}
	if n := len(double.Entities("lambda")); n != 2 {
		t.Errorf("Port holds %d functions, want the own account's and a's", n)
	}

	stdout, stderr, err = runCLISplit(t, "sync", "--config", cfg)
	if exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1\n%s\n%s", err, stdout, stderr)
	}
	why := "FAILED account " + org.Accounts["b"] + ": not read, nothing deleted there: assume role arn:aws:iam::" + org.Accounts["b"] + ":role/port-read: AssumeRole denied"
	if !strings.Contains(stdout, "ACCOUNT") || !strings.Contains(stdout, why) || linesWith(stdout, org.Accounts["b"]) != 2 {
		t.Errorf("table:\n%s", stdout)
	}
	t.Logf("summary:\n%s", stdout)

	// The same accounts from the environment instead of the config: an
	// explicit list replaces the file's block.
	t.Setenv("AWS_ACCOUNTS_CONFIG", `{"accounts": [{"role_arn": "arn:aws:iam::`+org.Accounts["a"]+`:role/port-read"}], "include_own_account": false}`)
	stdout, stderr, err = runCLISplit(t, "sync", "--config", cfg, "--summary", "json")
	if err != nil {
		t.Fatalf("sync with AWS_ACCOUNTS_CONFIG: %v\n%s\n%s", err, stdout, stderr)
	}
	s = cli.Summary{}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Shards) != 1 || s.Shards[0].Account != org.Accounts["a"] || !strings.Contains(stderr, "replaced by --aws-accounts") {
		t.Errorf("shards %+v\nstderr:\n%s", s.Shards, stderr)
	}
	_, stderr, err = runCLISplit(t, "sync", "--config", cfg, "--aws-accounts", `{"accounts": [{"role_arn": "arn:aws:iam::1:role/r"}]}`)
	if err == nil || !strings.Contains(stderr+err.Error(), "aws.accounts[0].role_arn") {
		t.Errorf("a bad --aws-accounts: %v\n%s", err, stderr)
	}
}
