package registry_test

import (
	"context"
	"slices"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// TestOwnedAmongAgainstThePortDouble: of the entities an event names, only
// those whose $datasource carries the shard's token are the shard's, whoever
// else wrote an entity of the same identifier.
func TestOwnedAmongAgainstThePortDouble(t *testing.T) {
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	if err := double.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {}}}`)); err != nil {
		t.Fatal(err)
	}
	client, err := port.New(port.Config{BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret(), RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	eu := source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: "AWS::Lambda::Function"}
	us := source.Shard{AccountID: "123456789012", Region: "us-east-1", Kind: "AWS::Lambda::Function"}
	double.Put(registry.UserAgent(eu), entity.Entity{Blueprint: "lambda", Identifier: "mine", Properties: map[string]any{}})
	double.Put(registry.UserAgent(us), entity.Entity{Blueprint: "lambda", Identifier: "other-region", Properties: map[string]any{}})
	double.Put("Port UI", entity.Entity{Blueprint: "lambda", Identifier: "by-hand", Properties: map[string]any{}})
	double.Put("port-aws-exporter/0.1 (accountid/123456789012 region/eu-west-1)", entity.Entity{Blueprint: "lambda", Identifier: "old-exporter", Properties: map[string]any{}})

	ref := func(id string) entity.Ref { return entity.Ref{Blueprint: "lambda", Identifier: id} }
	asked := []entity.Ref{ref("mine"), ref("other-region"), ref("by-hand"), ref("old-exporter"), ref("absent"), {Blueprint: "no-such-blueprint", Identifier: "mine"}}
	got, err := registry.Port{Client: client}.OwnedAmong(context.Background(), eu, asked)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []entity.Ref{ref("mine")}) {
		t.Fatalf("owned among %v = %v, want only lambda/mine", asked, got)
	}
}
