package config

import (
	"strings"
	"testing"
)

// minAWSBlockCases is how many cases testdata/accounts.yaml held when the
// floor was set.
const minAWSBlockCases = 9

// TestAWSBlock runs each case in config.json and, the same block, in a
// port-app-config: both dialects read the aws block alike.
func TestAWSBlock(t *testing.T) {
	cases := readCases[validateCase](t, "testdata/accounts.yaml")
	if len(cases) < minAWSBlockCases {
		t.Fatalf("testdata/accounts.yaml has %d cases, want at least %d", len(cases), minAWSBlockCases)
	}
	dialects := map[string]string{
		"config.json": `"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "fn", "properties": {}}]}}}]`,
		"ocean": `"deleteDependentEntities": false, "entityDeletionThreshold": 0.5, "resources": [{"kind": "AWS::Lambda::Function", "selector": {"query": "true"},
			"port": {"entity": {"mappings": {"identifier": ".Identifier", "blueprint": "\"fn\""}}}}]`,
	}
	for _, tc := range cases {
		for dialect, resources := range dialects {
			t.Run(dialect+"/"+tc.Name, func(t *testing.T) {
				cfg, err := Parse([]byte(strings.Replace(tc.JSON, "RESOURCES", resources, 1)), JSON)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if want := map[string]Dialect{"ocean": DialectOcean}[dialect]; cfg.Dialect != want {
					t.Fatalf("dialect %v, want %v", cfg.Dialect, want)
				}
				matchAll(t, "problem", Validate(cfg), tc.Problems)
				if tc.Warnings != nil {
					matchAll(t, "warning", cfg.Warnings, *tc.Warnings)
				}
				if len(tc.Problems) == 0 && cfg.AWS == nil {
					t.Fatal("no aws block read")
				}
			})
		}
	}
}

// TestConvertKeepsAWSBlock: config convert carries the block both ways, key for key.
func TestConvertKeepsAWSBlock(t *testing.T) {
	doc := `{"aws": {"organization": {"member_role_name": "port-read", "external_id": "port-42", "organizational_units": ["ou-ab12-cdefgh34"],
		"skip_accounts": ["333333333333"]}, "include_own_account": false, "max_concurrent_accounts": 3},
		"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "fn", "properties": {}}]}}}]}`
	cfg, err := Parse([]byte(doc), JSON)
	if err != nil {
		t.Fatal(err)
	}
	ocean, err := ToOcean(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ocean.Data), "aws:\n  organization:\n    member_role_name: port-read") {
		t.Fatalf("port-app-config lacks the block as block YAML:\n%s", ocean.Data)
	}
	back, err := Parse(ocean.Data, YAML)
	if err != nil {
		t.Fatal(err)
	}
	if problems := Validate(back); len(problems) > 0 {
		t.Fatalf("converted port-app-config: %v", problems)
	}
	exp, err := ToExporter(back)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(exp.Data, JSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Config{back, again} {
		a := c.AWS
		if a == nil || a.Organization == nil || a.Organization.MemberRoleName != "port-read" || a.Organization.ExternalID != "port-42" ||
			len(a.Organization.OrganizationalUnits) != 1 || len(a.Organization.SkipAccounts) != 1 || a.OwnAccount() || a.MaxConcurrentAccounts != 3 {
			t.Fatalf("aws block after conversion: %+v", a)
		}
	}
}

func TestAccountIDOfRole(t *testing.T) {
	cases := map[string]string{
		"arn:aws:iam::111111111111:role/r":           "111111111111",
		"arn:aws-cn:iam::222222222222:role/path/r":   "222222222222",
		"arn:aws:iam::111111111111:user/r":           "",
		"arn:aws:iam::1111:role/r":                   "",
		"arn:aws:sts::111111111111:assumed-role/r/s": "",
		"not an arn": "",
	}
	if len(cases) < 6 {
		t.Fatal("table cut short")
	}
	for arn, want := range cases {
		if got := AccountIDOfRole(arn); got != want {
			t.Errorf("AccountIDOfRole(%q) = %q, want %q", arn, got, want)
		}
	}
}

// An aws block given on its own (a flag or an environment variable) is read
// and checked like one in a config; an unknown key is a problem there (no
// file to warn in).
func TestParseAWS(t *testing.T) {
	cases := []struct {
		name, doc string
		problems  []string
	}{
		{"organization as JSON", `{"organization": {"member_role_name": "port-read", "external_id": "port-42"}}`, nil},
		{"accounts as YAML", "accounts:\n  - role_arn: arn:aws:iam::111111111111:role/r\n", nil},
		{"a bad role and an unknown key", `{"accounts": [{"role_arn": "nope"}], "orgnization": {}}`,
			[]string{`aws.accounts[0].role_arn: "nope" is not an IAM role ARN`, "aws.orgnization: unknown key; ignored"}},
		{"not an object", `[1]`, []string{"aws: must be an object"}},
	}
	if len(cases) < 4 {
		t.Fatal("table cut short")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, problems, err := ParseAWS([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			matchAll(t, "problem", problems, tc.problems)
			if len(tc.problems) == 0 && a == nil {
				t.Fatal("no block read")
			}
		})
	}
}
