package config

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// AWS is the top-level aws block (this exporter's extension, in both
// dialects, with the same keys): which accounts a sync reads. A config
// without it reads the account of the exporter's own credentials, as
// before. Either Accounts or Organization names the member accounts; the
// exporter's own account is read too unless IncludeOwnAccount is false.
type AWS struct {
	// Accounts are roles to assume, one per account.
	Accounts []AccountRole `json:"accounts,omitempty"`
	// Organization reads the member accounts of an AWS Organization.
	Organization *Organization `json:"organization,omitempty"`
	// IncludeOwnAccount: nil means true (the credentials' own account is
	// read as well, with those credentials).
	IncludeOwnAccount *bool `json:"include_own_account,omitempty"`
	// MaxConcurrentAccounts bounds how many accounts a full sync reads at
	// once (0: not set, no bound beyond the sync's concurrency).
	MaxConcurrentAccounts int `json:"max_concurrent_accounts,omitempty"`
}

// AccountRole is one entry of aws.accounts.
type AccountRole struct {
	RoleARN    string `json:"role_arn"`
	ExternalID string `json:"external_id,omitempty"`
	// Regions, when set, restrict the account to these of the config's
	// regions; "*" is every region the account has enabled (discovered).
	Regions []string `json:"regions,omitempty"`
}

// Organization is aws.organization.
type Organization struct {
	// RoleARN is assumed to list the organization when the exporter's
	// credentials are not the management (or delegated administrator) account's.
	RoleARN string `json:"role_arn,omitempty"`
	// MemberRoleName is the role (name or path/name) assumed in every member account.
	MemberRoleName string `json:"member_role_name"`
	// ExternalID is sent with every member AssumeRole.
	ExternalID string `json:"external_id,omitempty"`
	// OrganizationalUnits limit the accounts to these OUs (or roots) and
	// every OU below them; none means the whole organization.
	OrganizationalUnits     []string `json:"organizational_units,omitempty"`
	SkipOrganizationalUnits []string `json:"skip_organizational_units,omitempty"`
	SkipAccounts            []string `json:"skip_accounts,omitempty"`
}

// OwnAccount says whether the exporter's own account is read.
func (a *AWS) OwnAccount() bool {
	return a == nil || a.IncludeOwnAccount == nil || *a.IncludeOwnAccount
}

// AccountIDOfRole returns the account of an IAM role ARN
// (arn:partition:iam::ACCOUNT:role/NAME), "" when it is not one.
func AccountIDOfRole(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return ""
	}
	if len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "" {
		return ""
	}
	return parts[4]
}

// awsBlock reads the aws block; ocean picks Ocean's boolean reading. The
// schema checks types and patterns; this checks what spans two keys.
func (b *builder) awsBlock(cfg *Config, ocean bool) func(string, *node) {
	return func(path string, n *node) {
		if n.kind != kindObject {
			return
		}
		a := &AWS{}
		boolean := b.optionalBool(&a.IncludeOwnAccount)
		if ocean {
			boolean = b.oceanBool(&a.IncludeOwnAccount)
		}
		b.object(path, n, map[string]func(string, *node){
			"accounts": func(path string, n *node) {
				b.array(path, n, func(path string, _ int, item *node) {
					var r AccountRole
					b.object(path, item, map[string]func(string, *node){
						"role_arn":    b.str(&r.RoleARN),
						"external_id": b.str(&r.ExternalID),
						"regions":     b.strings(&r.Regions),
					})
					a.Accounts = append(a.Accounts, r)
				})
			},
			"organization": func(path string, n *node) {
				if n.kind != kindObject {
					return
				}
				o := &Organization{}
				b.object(path, n, map[string]func(string, *node){
					"role_arn":                  b.str(&o.RoleARN),
					"member_role_name":          b.str(&o.MemberRoleName),
					"external_id":               b.str(&o.ExternalID),
					"organizational_units":      b.strings(&o.OrganizationalUnits),
					"skip_organizational_units": b.strings(&o.SkipOrganizationalUnits),
					"skip_accounts":             b.strings(&o.SkipAccounts),
				})
				a.Organization = o
			},
			"include_own_account": boolean,
			"max_concurrent_accounts": func(path string, n *node) {
				if n.kind == kindNumber {
					if v, err := strconv.Atoi(n.num.String()); err == nil {
						a.MaxConcurrentAccounts = v
					}
				}
			},
		})
		b.checkAWS(path, a)
		cfg.AWS = a
	}
}

// checkAWS reports what the schema cannot: both or neither of accounts and
// organization, an account listed twice, an OU both included and skipped.
func (b *builder) checkAWS(path string, a *AWS) {
	switch {
	case a.Organization != nil && len(a.Accounts) > 0:
		b.problem(Key(path, "organization"), "aws.accounts and aws.organization both name the accounts to read: keep one")
	case a.Organization == nil && len(a.Accounts) == 0 && !a.OwnAccount():
		b.problem(Key(path, "include_own_account"), "false, and neither aws.accounts nor aws.organization names an account: nothing would be read")
	}
	seen := map[string]int{}
	for i, r := range a.Accounts {
		id := AccountIDOfRole(r.RoleARN)
		if id == "" {
			continue // the schema's pattern problem
		}
		if j, dup := seen[id]; dup {
			b.problem(Index(Key(path, "accounts"), i)+".role_arn", "account %s is already listed at aws.accounts[%d]: one role per account", id, j)
			continue
		}
		seen[id] = i
		for k, region := range r.Regions {
			p := Index(Index(Key(path, "accounts"), i)+".regions", k)
			switch {
			case region != "*" && !ValidRegion(region):
				b.problem(p, "%q is not an AWS region name such as eu-west-1, nor * (every region the account enabled)", region)
			case slices.Index(r.Regions, region) != k:
				b.problem(p, "region %s listed twice", region)
			}
		}
	}
	if o := a.Organization; o != nil {
		for i, ou := range o.SkipOrganizationalUnits {
			if slices.Contains(o.OrganizationalUnits, ou) {
				b.problem(Index(Key(path, "organization")+".skip_organizational_units", i), "%s is also in organizational_units: read or skip it, not both", ou)
			}
		}
	}
}

// ParseAWS reads an aws block given on its own (JSON or YAML, e.g. from
// --aws-accounts or AWS_ACCOUNTS_CONFIG), checked as in a config: by the
// schema and the cross-key checks, problems at paths under "aws".
func ParseAWS(data []byte) (*AWS, []Problem, error) {
	n, err := parseYAMLTree(bytes.TrimSpace(data))
	if err != nil {
		return nil, nil, fmt.Errorf("aws block: %w", err)
	}
	root := &node{kind: kindObject, members: []member{{key: "aws", value: n}, {key: "resources", value: &node{kind: kindArray}}}}
	var b builder
	cfg := &Config{}
	b.awsBlock(cfg, false)("aws", n)
	schemaProblems, warnings := loadSchema().check(root)
	var problems []Problem
	for _, p := range append(schemaProblems, b.problems...) {
		if p.Path == "aws" || strings.HasPrefix(p.Path, "aws.") || strings.HasPrefix(p.Path, "aws[") {
			problems = append(problems, p)
		}
	}
	for _, w := range warnings {
		if strings.HasPrefix(w.Path, "aws.") {
			problems = append(problems, Problem{Path: w.Path, Message: w.Message})
		}
	}
	if n.kind != kindObject && len(problems) == 0 {
		problems = append(problems, Problem{Path: "aws", Message: "must be an object"})
	}
	return cfg.AWS, problems, nil
}
