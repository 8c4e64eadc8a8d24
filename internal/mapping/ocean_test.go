package mapping

import (
	"slices"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/identity"
)

// Ocean's rules case by case (testdata/ocean-cases.yaml): the document of
// each layout, the boolean selector, nulls for failed fields, Ocean's items.
func TestOceanCases(t *testing.T) { runCases(t, "testdata/ocean-cases.yaml", 15) }

func TestDeletionPath(t *testing.T) {
	cases := map[string]string{
		".Properties.Layers":             ".Properties.Layers",
		" .Properties.Tags ":             ".Properties.Tags",
		".a[0].b":                        ".a[0].b",
		".[\"x\"].y":                     ".[\"x\"].y",
		". as $root | .Properties.Items": ".Properties.Items",
		"$x | .items":                    ".items",
		"(.Properties.Layers // [])":     ".Properties.Layers",
		".Properties.Layers | map(select(. != null))": ".Properties.Layers",
		"[.a, .b]": "",
		"(.a":      "",
		".":        "",
	}
	for in, want := range cases {
		if got := deletionPath(in); got != want {
			t.Errorf("deletionPath(%q) = %q, want %q", in, got, want)
		}
	}
	if len(cases) < 11 {
		t.Fatal("too few cases")
	}
}

// Regions under Ocean's region policy: the allowed candidates until the
// account's regions are known, and a global kind in the first of them only.
func TestOceanRegions(t *testing.T) {
	cfg, err := config.Parse([]byte(`
resources:
  - kind: AWS::Lambda::Function
    selector: {query: 'true', regionPolicy: {allow: [eu-west-1, ap-south-2, us-east-1], deny: [ap-south-2]}}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"fn"'}}}
  - kind: AWS::S3::Bucket
    selector: {query: 'true', regionPolicy: {allow: [ap-south-2, eu-west-1]}}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"b"'}}}
  - kind: AWS::SQS::Queue
    selector: {query: 'true', regionPolicy: {deny: [us-east-2]}}
    port: {entity: {mappings: {identifier: .Identifier, blueprint: '"q"'}}}
  - kind: AWS::Account::Info
    selector: {query: 'true', regionPolicy: {allow: [eu-west-1, us-east-1]}}
    port: {entity: {mappings: {identifier: .Properties.Id, blueprint: '"awsAccount"'}}}
`), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The deny-only policy denies the default region: nothing is left to read
	// until the account's regions are discovered (Build refuses such a config).
	want := [][]string{{"eu-west-1", "us-east-1"}, {"eu-west-1"}, {}, {"eu-west-1"}}
	for i, r := range m.Resources() {
		if got := r.Regions("us-east-2"); !slices.Equal(got, want[i]) {
			t.Errorf("%s: regions %v, want %v", r.Kind, got, want[i])
		}
	}
	if got := m.Resources()[2].Regions("eu-west-1"); !slices.Equal(got, []string{"eu-west-1"}) {
		t.Errorf("deny-only policy: %v, want the default region", got)
	}
}

// Under Ocean's document a deletion proof sees the identifier as it reads
// the Cloud Control properties, so Ocean's default mappings get direct
// proofs (one GetResource) as config.json's do.
func TestOceanIdentities(t *testing.T) {
	cfg, err := config.Load(t.Context(), "../config/testdata/ocean/ocean-aws-default.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS::Organizations::Account": ".Id", // the reader's own document: as written
		"AWS::S3::Bucket":             ".BucketName",
		"AWS::EC2::Instance":          ".InstanceId",
		"AWS::ECS::Cluster":           ".Arn",
	}
	direct := map[string]bool{"AWS::S3::Bucket": true, "AWS::EC2::Instance": true, "AWS::ECS::Cluster": true}
	for _, r := range m.Resources() {
		ids := r.Identities()
		if len(ids) != 1 || ids[0].Identifier != want[r.Kind] {
			t.Errorf("%s: identities %+v, want identifier %s", r.Kind, ids, want[r.Kind])
			continue
		}
		if _, ok := identity.Direct(r.Kind, ids[0].Identifier); ok != direct[r.Kind] {
			t.Errorf("%s: direct proof %v, want %v", r.Kind, ok, direct[r.Kind])
		}
	}
	// A computed identifier stays as written: a listing proves its deletion.
	cfg, err = config.Parse([]byte(`resources: [{kind: AWS::SQS::Queue, selector: {query: 'true'},
  port: {entity: {mappings: {identifier: '.Identifier | split("/")[4]', blueprint: '"sqs"'}}}}]`), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = Compile(cfg); err != nil {
		t.Fatal(err)
	}
	if got := m.Resources()[0].Identities()[0].Identifier; got != `.Identifier | split("/")[4]` {
		t.Errorf("computed identifier restated as %q", got)
	}
}
