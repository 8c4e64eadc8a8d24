package source_test

import (
	"context"
	"errors"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// namedReader answers with its own name, so a test sees which reader ran.
type namedReader struct{ name string }

func (r namedReader) List(_ context.Context, shard source.Shard, _ source.ListOptions, fn func(source.Resource) error) error {
	return fn(source.Resource{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind, Identifier: r.name})
}

func (r namedReader) Get(_ context.Context, shard source.Shard, id string) (source.Resource, error) {
	if id == "gone" {
		return source.Resource{}, source.ErrNotFound
	}
	return source.Resource{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind, Identifier: r.name}, nil
}

func TestByKindRoutesEachKindToItsReader(t *testing.T) {
	r := source.ByKind{
		Default: namedReader{"cloudcontrol"},
		Kinds:   map[string]source.Reader{"AWS::EC2::Instance": namedReader{"describe"}},
	}
	cases := []struct{ kind, want string }{
		{"AWS::EC2::Instance", "describe"},
		{"AWS::Lambda::Function", "cloudcontrol"},
		{"AWS::EC2::Volume", "cloudcontrol"},
	}
	if len(cases) < 3 {
		t.Fatal("table emptied")
	}
	for _, c := range cases {
		shard := source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: c.kind}
		var got []string
		if err := r.List(context.Background(), shard, source.ListOptions{}, func(res source.Resource) error {
			got = append(got, res.Identifier)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("List %s went to %v, want %s", c.kind, got, c.want)
		}
		res, err := r.Get(context.Background(), shard, "x")
		if err != nil || res.Identifier != c.want || res.AccountID != shard.AccountID {
			t.Errorf("Get %s = %+v, %v; want reader %s in account %s", c.kind, res, err, c.want, shard.AccountID)
		}
		if _, err := r.Get(context.Background(), shard, "gone"); !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Get %s gone: %v, want ErrNotFound passed through", c.kind, err)
		}
	}
}
