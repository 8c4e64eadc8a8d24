package moto

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrgSpec describes an AWS Organization to create in moto, as data.
type OrgSpec struct {
	// OUs in creation order; a Parent of "" is the root.
	OUs      []OUSpec
	Accounts []AccountSpec
}

// OUSpec is one organizational unit.
type OUSpec struct{ Name, Parent string }

// AccountSpec is one member account; an OU of "" is the root.
type AccountSpec struct {
	Name, OU string
	// Closed closes the account after it is created (no longer ACTIVE).
	Closed bool
}

// Org is what was created: IDs by name.
type Org struct {
	RootID   string
	OUs      map[string]string
	Accounts map[string]string
}

// CreateOrganization creates spec's organization with cfg's credentials,
// whose account (moto's default) becomes the management account.
func CreateOrganization(ctx context.Context, cfg aws.Config, spec OrgSpec) (*Org, error) {
	c := organizations.NewFromConfig(cfg)
	if _, err := c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll}); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		return nil, fmt.Errorf("list roots: %v", err)
	}
	org := &Org{RootID: aws.ToString(roots.Roots[0].Id), OUs: map[string]string{}, Accounts: map[string]string{}}
	parent := func(name string) (string, error) {
		if name == "" {
			return org.RootID, nil
		}
		id, ok := org.OUs[name]
		if !ok {
			return "", fmt.Errorf("no OU %q (OUs are created in order)", name)
		}
		return id, nil
	}
	for _, ou := range spec.OUs {
		p, err := parent(ou.Parent)
		if err != nil {
			return nil, err
		}
		out, err := c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(p), Name: aws.String(ou.Name)})
		if err != nil {
			return nil, fmt.Errorf("create OU %s: %w", ou.Name, err)
		}
		org.OUs[ou.Name] = aws.ToString(out.OrganizationalUnit.Id)
	}
	for _, a := range spec.Accounts {
		out, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(a.Name), Email: aws.String(a.Name + "@example.com")})
		if err != nil {
			return nil, fmt.Errorf("create account %s: %w", a.Name, err)
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		org.Accounts[a.Name] = id
		if a.OU != "" {
			if err := org.Move(ctx, cfg, a.Name, "", a.OU); err != nil {
				return nil, err
			}
		}
		if a.Closed {
			if _, err := c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(id)}); err != nil {
				return nil, fmt.Errorf("close account %s: %w", a.Name, err)
			}
		}
	}
	return org, nil
}

// Move moves the named account from one OU to another ("" is the root).
func (o *Org) Move(ctx context.Context, cfg aws.Config, account, from, to string) error {
	id := func(ou string) string {
		if ou == "" {
			return o.RootID
		}
		return o.OUs[ou]
	}
	_, err := organizations.NewFromConfig(cfg).MoveAccount(ctx, &organizations.MoveAccountInput{
		AccountId: aws.String(o.Accounts[account]), SourceParentId: aws.String(id(from)), DestinationParentId: aws.String(id(to))})
	if err != nil {
		return fmt.Errorf("move account %s from %q to %q: %w", account, from, to, err)
	}
	return nil
}

// Remove takes the named account out of the organization.
func (o *Org) Remove(ctx context.Context, cfg aws.Config, account string) error {
	_, err := organizations.NewFromConfig(cfg).RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{
		AccountId: aws.String(o.Accounts[account])})
	if err != nil {
		return fmt.Errorf("remove account %s: %w", account, err)
	}
	return nil
}
