package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrganizationsAPI is what the resolver calls of AWS Organizations, each
// through the SDK's paginator.
type OrganizationsAPI interface {
	organizations.ListAccountsAPIClient
	organizations.ListAccountsForParentAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
}

// organizationAccounts lists the organization's accounts the config reads:
// every account (ListAccounts), or those under the configured OUs and every
// OU below them; minus the skipped OUs' accounts (theirs below too) and the
// skipped accounts; only ACTIVE ones (a suspended or closing account cannot
// be read, and its entities are left alone rather than failed every sync).
func (r *Resolver) organizationAccounts(ctx context.Context) ([]Account, error) {
	o := r.cfg.Organization
	cfg := r.opts.Base
	if o.RoleARN != "" {
		cfg = withCredentials(r.opts.Base, r.credentials(o.RoleARN, ""))
	}
	var api OrganizationsAPI
	if r.opts.Organizations != nil {
		api = r.opts.Organizations(cfg)
	} else {
		api = organizations.NewFromConfig(cfg)
	}
	w := &walker{api: api, skipOUs: o.SkipOrganizationalUnits, seen: map[string]bool{}}
	var listed []types.Account
	if len(o.OrganizationalUnits) == 0 {
		p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, orgError("list the organization's accounts", o.RoleARN, err)
			}
			listed = append(listed, page.Accounts...)
		}
	} else {
		for _, ou := range o.OrganizationalUnits {
			if err := w.walk(ctx, ou, func(a types.Account) { listed = append(listed, a) }); err != nil {
				return nil, orgError("list organizational unit "+ou, o.RoleARN, err)
			}
		}
	}
	skipped := map[string]bool{}
	for _, id := range o.SkipAccounts {
		skipped[id] = true
	}
	if len(o.OrganizationalUnits) == 0 {
		// Under ListAccounts the skipped OUs' accounts are found by walking them.
		for _, ou := range o.SkipOrganizationalUnits {
			all := &walker{api: api, seen: map[string]bool{}}
			if err := all.walk(ctx, ou, func(a types.Account) { skipped[aws.ToString(a.Id)] = true }); err != nil {
				return nil, orgError("list skipped organizational unit "+ou, o.RoleARN, err)
			}
		}
	}
	var out []Account
	have := map[string]bool{}
	for _, a := range listed {
		id := aws.ToString(a.Id)
		if id == "" || skipped[id] || have[id] || !active(a) {
			continue
		}
		have[id] = true
		out = append(out, Account{ID: id, Name: aws.ToString(a.Name), RoleARN: MemberRoleARN(r.opts.Base.Region, id, o.MemberRoleName)})
	}
	if len(out) == 0 {
		// Not an error (an OU may be empty for a while), but rarely meant.
		r.opts.Logger.Warn("the organization lists no member account to read", "organizational_units", o.OrganizationalUnits,
			"skipped_organizational_units", o.SkipOrganizationalUnits, "listed", len(listed))
	}
	return out, nil
}

// active: Status is the field AWS documents as being replaced by State;
// either saying ACTIVE counts, whichever the API fills.
func active(a types.Account) bool {
	if a.State != "" {
		return a.State == types.AccountStateActive
	}
	return a.Status == types.AccountStatusActive
}

// walker visits an OU's accounts and those of every OU below it, except
// the skipped OUs (and theirs).
type walker struct {
	api     OrganizationsAPI
	skipOUs []string
	seen    map[string]bool
}

func (w *walker) walk(ctx context.Context, parent string, fn func(types.Account)) error {
	if w.seen[parent] || slices.Contains(w.skipOUs, parent) {
		return nil
	}
	w.seen[parent] = true
	accts := organizations.NewListAccountsForParentPaginator(w.api, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
	for accts.HasMorePages() {
		page, err := accts.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, a := range page.Accounts {
			fn(a)
		}
	}
	ous := organizations.NewListOrganizationalUnitsForParentPaginator(w.api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
	var children []string
	for ous.HasMorePages() {
		page, err := ous.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, ou := range page.OrganizationalUnits {
			children = append(children, aws.ToString(ou.Id))
		}
	}
	for _, child := range children {
		if err := w.walk(ctx, child, fn); err != nil {
			return err
		}
	}
	return nil
}

func orgError(what, role string, err error) error {
	by := "the exporter's credentials"
	if role != "" {
		by = role
	}
	return fmt.Errorf("accounts: %s with %s (the management account, a delegated administrator, or aws.organization.role_arn may): %w", what, by, err)
}
