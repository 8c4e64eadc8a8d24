package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// A sync of three accounts: the table names each row's account, the one
// account that could not be read is one row and one line saying why, and
// the JSON groups the shards by account (and follows its schema).
func TestSummaryGroupsAccounts(t *testing.T) {
	shard := func(account, region, kind string) source.Shard {
		return source.Shard{AccountID: account, Region: region, Kind: kind}
	}
	denied := &controller.AccountError{AccountID: "333333333333", Err: errors.New("assume role arn:aws:iam::333333333333:role/port-read: AssumeRole denied")}
	report := controller.Report{Duration: time.Second, Shards: []controller.ShardReport{
		{Shard: shard("111111111111", "eu-west-1", "AWS::Lambda::Function"), Listed: 3, Upserted: 3},
		{Shard: shard("111111111111", "us-east-1", "AWS::Lambda::Function"), Listed: 1, Upserted: 1},
		{Shard: shard("222222222222", "eu-west-1", "AWS::Lambda::Function"), Listed: 2, Upserted: 1, Failed: 1, Errors: []error{errors.New("mapping failed")}},
		{Shard: shard("333333333333", "eu-west-1", "AWS::Lambda::Function"), Errors: []error{denied}},
		{Shard: shard("333333333333", "us-east-1", "AWS::Lambda::Function"), Errors: []error{denied}},
	}}
	s := NewSummary(report, nil, false)
	want := []AccountSummary{
		{Account: "111111111111", Status: "ok", Shards: 2, Counts: Counts{Listed: 4, Upserted: 4}},
		{Account: "222222222222", Status: "failed", Shards: 1, Counts: Counts{Listed: 2, Upserted: 1, Failed: 1}},
		{Account: "333333333333", Status: "failed", Shards: 2, Error: denied.Err.Error()},
	}
	if len(s.Accounts) != len(want) {
		t.Fatalf("accounts %+v", s.Accounts)
	}
	for i := range want {
		if s.Accounts[i] != want[i] {
			t.Errorf("account %d: %+v, want %+v", i, s.Accounts[i], want[i])
		}
	}
	var table bytes.Buffer
	s.WriteTable(&table, false)
	out := table.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	// header, the unread account's row, 3 shard rows, total, the line why.
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "ACCOUNT") || strings.Count(out, "333333333333") != 3 ||
		!strings.Contains(lines[4], "333333333333  (2 shards)") ||
		lines[6] != "FAILED account 333333333333: not read, nothing deleted there: "+denied.Err.Error() {
		t.Errorf("table:\n%s", out)
	}
	var doc bytes.Buffer
	if err := s.WriteJSON(&doc); err != nil {
		t.Fatal(err)
	}
	schema, err := jsonschema.CompileString("summary.schema.json", string(SummarySchema))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(doc.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("summary does not follow its schema: %v\n%s", err, doc.String())
	}

	// One account, read: the summary is what it always was.
	one := NewSummary(controller.Report{Shards: report.Shards[:2]}, nil, false)
	table.Reset()
	one.WriteTable(&table, false)
	if one.Accounts != nil || strings.Contains(table.String(), "ACCOUNT") {
		t.Errorf("one account grouped: %+v\n%s", one.Accounts, table.String())
	}
}
