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
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Product is the first word of every User-Agent the exporter sends to Port.
const Product = "port-aws-exporter"

// SchemeVersion versions the ownership scheme, not the binary: changing the
// token format would orphan every entity written before, so it changes rarely.
const SchemeVersion = "2"

// Token is the part of $datasource that proves ownership by the shard (its
// resource models do not take part: they are how the shard is listed, not who
// it is).
func Token(s source.Shard) string {
	return fmt.Sprintf("(accountid/%s region/%s kind/%s)", s.AccountID, s.Region, s.Kind)
}

// UserAgent is the User-Agent for every Port write made on behalf of the shard.
func UserAgent(s source.Shard) string {
	return Product + "/" + SchemeVersion + " " + Token(s)
}

var datasourcePattern = regexp.MustCompile(`^port-aws-exporter/2 \(accountid/([^ ()]+) region/([^ ()]+) kind/([^ ()]+)\)$`)

// ParseDatasource returns the shard recorded in a $datasource value, and false
// when the value was not written under this scheme.
func ParseDatasource(ds string) (source.Shard, bool) {
	m := datasourcePattern.FindStringSubmatch(ds)
	if m == nil {
		return source.Shard{}, false
	}
	return source.Shard{AccountID: m[1], Region: m[2], Kind: m[3]}, true
}

// Registry finds the entities a shard owns.
type Registry interface {
	// Owned lists the entities the shard owns in the blueprints.
	Owned(ctx context.Context, shard source.Shard, blueprints []string) ([]entity.Ref, error)
	// OwnedAmong lists which of refs the shard owns: the narrowed question
	// of an event, answered without listing the whole shard.
	OwnedAmong(ctx context.Context, shard source.Shard, refs []entity.Ref) ([]entity.Ref, error)
}
