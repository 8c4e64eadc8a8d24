// Package registry is the exporter's ownership scheme: how it marks the
// entities it writes, and how it finds them again, so that stale deletion only
// ever touches entities this exporter can prove it wrote for a given shard.
//
// Port records on every entity a $datasource derived from the User-Agent of the
// request that last wrote it (inferred from Port's own clients, not documented).
// Every write for a shard (account, region, kind) is sent with
//
//	User-Agent: port-aws-exporter/2 (accountid/<account> region/<region> kind/<kind>)
//
// and the entities owned by that shard are those whose $datasource contains the
// exact token "(accountid/<account> region/<region> kind/<kind>)". The brackets
// make the token unambiguous: kind/AWS::EC2::VPC never matches kind/AWS::EC2::VPCEndpoint.
// "/2" is the version of this scheme; Port's earlier exporter used "/0.1" with no
// kind, so its entities are never claimed by this one.
package registry

import (
	"context"
	"fmt"
	"regexp"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Product is the first word of every User-Agent the exporter sends to Port.
const Product = "port-aws-exporter"

// SchemeVersion versions the ownership scheme, not the binary: changing the
// token format would orphan every entity written before, so it changes rarely.
const SchemeVersion = "2"

// Owner is the shard that wrote an entity.
type Owner struct {
	AccountID string
	Region    string
	Kind      string
}

// Token is the part of $datasource that proves ownership by this shard.
func (o Owner) Token() string {
	return fmt.Sprintf("(accountid/%s region/%s kind/%s)", o.AccountID, o.Region, o.Kind)
}

// UserAgent is the User-Agent for every Port write made on behalf of this shard.
func (o Owner) UserAgent() string {
	return Product + "/" + SchemeVersion + " " + o.Token()
}

func (o Owner) String() string { return o.AccountID + "/" + o.Region + "/" + o.Kind }

var datasourcePattern = regexp.MustCompile(`^port-aws-exporter/2 \(accountid/([^ ()]+) region/([^ ()]+) kind/([^ ()]+)\)$`)

// ParseDatasource returns the owner recorded in a $datasource value, and false
// when the value was not written under this scheme.
func ParseDatasource(ds string) (Owner, bool) {
	m := datasourcePattern.FindStringSubmatch(ds)
	if m == nil {
		return Owner{}, false
	}
	return Owner{AccountID: m[1], Region: m[2], Kind: m[3]}, true
}

// Registry lists the entities a shard owns in the given blueprints.
type Registry interface {
	Owned(ctx context.Context, owner Owner, blueprints []string) ([]entity.Ref, error)
}
