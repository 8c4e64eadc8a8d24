package catalog_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/build"
	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/wire"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
)

func embeddedFile(t *testing.T) *wire.File {
	t.Helper()
	gz, err := os.ReadFile("catalog.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var f wire.File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// The embedded file is what the generator makes of the sources present on
// this machine. All of them: byte for byte (decompressed). cfn-lint alone
// (the registry schemas are a checkout only a maintainer has; see
// SOURCES.md): its layer, when the installed release is the recorded one.
// The SDK's partitions are always here (the module cache).
func TestCatalogueInStepWithSources(t *testing.T) {
	embedded := embeddedFile(t)

	sdkDir, sdkVersion, err := build.FindSDK()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("partitions", func(t *testing.T) {
		parts, err := build.Partitions(sdkDir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(parts, catalog.PartitionData) {
			t.Errorf("partitions_gen.go differs from aws-sdk-go-v2 %s's partitions.json: run go generate in internal/catalog (SOURCES.md)", sdkVersion)
		}
		if want := "github.com/aws/aws-sdk-go-v2 " + sdkVersion + " " + build.PartitionsFile; catalog.Sources().Partitions != want || embedded.Sources.Partitions != want {
			t.Errorf("partitions source %q (catalog.json.gz: %q), want %q: regenerate", catalog.Sources().Partitions, embedded.Sources.Partitions, want)
		}
	})

	cfnLint, err := build.FindCfnLint(build.Python())
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("REQUIRE_TEST_PEERS") == "1" {
			t.Fatalf("%v (required because CI=true or REQUIRE_TEST_PEERS=1)", err)
		}
		t.Skipf("cfn-lint not found (set PORT_AWS_EXPORTER_CFNLINT_PYTHON): %v; only the partitions were compared", err)
	}
	if dir := os.Getenv("PORT_AWS_EXPORTER_REGISTRY_SCHEMAS"); dir != "" {
		t.Run("everything", func(t *testing.T) {
			f, err := build.Build(build.Options{CfnLintDir: cfnLint, RegistryDir: dir,
				RegistrySource: embedded.Sources.Registry, SDKDir: sdkDir, SDKVersion: sdkVersion})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Partitions, catalog.PartitionData) {
				t.Error("partitions_gen.go differs from the SDK's partitions: run go generate in internal/catalog")
			}
			f.Partitions = nil // in partitions_gen.go, not in catalog.json.gz
			want, _ := json.Marshal(f)
			got, _ := json.Marshal(embedded)
			if !bytes.Equal(want, got) {
				t.Errorf("catalog.json.gz differs from what %s and %s give: run go generate in internal/catalog", f.Sources.CfnLint, dir)
			}
		})
	} else {
		t.Log("PORT_AWS_EXPORTER_REGISTRY_SCHEMAS not set: the handlers were not compared (SOURCES.md)")
	}
	t.Run("cfn-lint layer", func(t *testing.T) {
		layer, err := build.CfnLintLayer(cfnLint)
		if err != nil {
			t.Fatal(err)
		}
		if layer.Sources.CfnLint != embedded.Sources.CfnLint {
			t.Skipf("installed %s, the catalogue was made from %s: nothing to compare (regenerate to move to it)", layer.Sources.CfnLint, embedded.Sources.CfnLint)
		}
		if !slices.Equal(layer.Regions, embedded.Regions) {
			t.Errorf("regions %v, cfn-lint has %v", embedded.Regions, layer.Regions)
		}
		fromLint := map[string]wire.Type{}
		for _, lt := range layer.Types {
			fromLint[lt.Name] = lt
		}
		for _, et := range embedded.Types {
			lt, ok := fromLint[et.Name]
			if et.RegionsUnknown {
				if ok {
					t.Errorf("%s: marked regions-unknown, but cfn-lint lists it", et.Name)
				}
				continue
			}
			if !ok {
				t.Errorf("%s is in the catalogue but not in %s", et.Name, layer.Sources.CfnLint)
				continue
			}
			delete(fromLint, et.Name)
			if !slices.Equal(lt.NotIn, et.NotIn) {
				t.Errorf("%s: regions differ from cfn-lint's", et.Name)
			}
			if !et.CloudControl && !slices.Equal(lt.PrimaryIdentifier, et.PrimaryIdentifier) {
				t.Errorf("%s: primary identifier %v, cfn-lint has %v", et.Name, et.PrimaryIdentifier, lt.PrimaryIdentifier)
			}
		}
		for name := range fromLint {
			t.Errorf("%s is in cfn-lint but not in the catalogue", name)
		}
	})
}

// Without the sources, the catalogue still holds what the exporter relies on.
func TestCatalogueInvariants(t *testing.T) {
	types := catalog.Types()
	readable := 0
	for i, ty := range types {
		if i > 0 && types[i-1].Name >= ty.Name {
			t.Fatalf("types not sorted at %s", ty.Name)
		}
		if ty.Readable() {
			readable++
			if len(ty.ListPermissions) == 0 && len(ty.ReadPermissions) == 0 {
				t.Errorf("%s: readable with no permissions at all", ty.Name)
			}
		}
		if ty.CloudControl && len(ty.PrimaryIdentifier) == 0 {
			t.Errorf("%s: no primary identifier", ty.Name)
		}
		if (ty.WhyUnreadable() == "") != ty.Readable() {
			t.Errorf("%s: WhyUnreadable %q disagrees with Readable %v", ty.Name, ty.WhyUnreadable(), ty.Readable())
		}
	}
	// cfn-lint 1.51 lists 1601 types, the registry 1489 provisionable ones:
	// fewer means a source was read wrongly.
	if len(types) < 1600 || readable < 1350 {
		t.Errorf("%d types, %d readable: fewer than the minimum (1600, 1350)", len(types), readable)
	}
	src := catalog.Sources()
	if !strings.HasPrefix(src.CfnLint, "cfn-lint ") || src.Registry == "" || !strings.Contains(src.Partitions, "aws-sdk-go-v2") {
		t.Errorf("sources not recorded: %+v", src)
	}

	kinds, err := library.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) < 20 {
		t.Fatalf("only %d library kinds", len(kinds))
	}
	for _, k := range kinds {
		ty, ok := catalog.Lookup(k.Type)
		_, other := catalog.OtherReader(k.Type)
		switch {
		case !ok:
			t.Errorf("library kind %s is not in the catalogue", k.Type)
		case !ty.Readable() && !other:
			t.Errorf("library kind %s cannot be read: %s", k.Type, ty.WhyUnreadable())
		case ty.Readable() && !slices.Equal(ty.PrimaryIdentifier, k.PrimaryIdentifier):
			t.Errorf("library kind %s: primary identifier %v, the catalogue says %v", k.Type, k.PrimaryIdentifier, ty.PrimaryIdentifier)
		}
	}
}

func TestLookupAndSuggest(t *testing.T) {
	cases := []struct {
		name     string
		known    bool
		readable bool
		suggest  []string
	}{
		{"AWS::Lambda::Function", true, true, nil},
		{"AWS::Lambda::Functon", false, false, []string{"AWS::Lambda::Function"}},
		{"aws::lambda::function", false, false, []string{"AWS::Lambda::Function"}},
		{"AWS::S3::Buckets", false, false, []string{"AWS::S3::Bucket"}},
		{"AWS::EC2::Instanse", false, false, []string{"AWS::EC2::Instance"}},
		{"AWS::CodeBuild::Project", true, false, nil},                                                                                   // CloudFormation's own, not Cloud Control's
		{"AWS::ACM::Certificate", false, false, []string{"AWS::ACMPCA::Certificate", "AWS::DMS::Certificate", "AWS::IoT::Certificate"}}, // Port's exporter's name; a describe reader's kind
		{"AWS::CertificateManager::Certificate", true, true, nil},
		{"AWS::Nothing::Here", false, false, nil},
	}
	if len(cases) < 9 {
		t.Fatalf("only %d cases", len(cases))
	}
	if r, ok := catalog.OtherReader("AWS::ACM::Certificate"); !ok || r.Name != "describe" {
		t.Errorf("AWS::ACM::Certificate: reader %+v %v, want describe", r, ok)
	}
	for _, c := range cases {
		ty, ok := catalog.Lookup(c.name)
		if ok != c.known || ty.Readable() != c.readable {
			t.Errorf("Lookup(%s) = known %v readable %v, want %v %v", c.name, ok, ty.Readable(), c.known, c.readable)
		}
		if !c.known {
			if got := catalog.Suggest(c.name); !slices.Equal(got, c.suggest) {
				t.Errorf("Suggest(%s) = %v, want %v", c.name, got, c.suggest)
			}
		}
	}
	listener, _ := catalog.Lookup("AWS::ElasticLoadBalancingV2::Listener")
	if !listener.ListNeedsModel {
		t.Error("listeners are listed per load balancer: ListNeedsModel should be true")
	}
	fn, _ := catalog.Lookup("AWS::Lambda::Function")
	if fn.ListNeedsModel || !slices.Contains(fn.ListPermissions, "lambda:ListFunctions") {
		t.Errorf("AWS::Lambda::Function: %+v", fn)
	}
	if ok, known := fn.InRegion("eu-west-1"); !ok || !known {
		t.Errorf("Lambda in eu-west-1: %v %v", ok, known)
	}
	if _, known := fn.InRegion("xx-nowhere-1"); known {
		t.Error("a region the catalogue does not list cannot be known")
	}
}

func TestRegions(t *testing.T) {
	cases := []struct {
		region    string
		partition string // "" = invalid
	}{
		{"us-east-1", "aws"},
		{"eu-central-2", "aws"},
		{"mx-central-1", "aws"},
		{"cn-north-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"},
		{"us-iso-east-1", "aws-iso"},
		{"us-isob-east-1", "aws-iso-b"},
		{"eu-isoe-west-1", "aws-iso-e"},
		{"us-isof-south-1", "aws-iso-f"},
		{"eusc-de-east-1", "aws-eusc"},
		{"eusc-de-west-2", "aws-eusc"}, // a future region of a pattern
		{"EU-WEST-1", ""},
		{"eu-West-1", ""},
		{"eu-west", ""},
		{"eu_west_1", ""},
		{"", ""},
		{"aws-global", ""},
		{"xx-east-1", ""},
		{"us-east-1 ", ""},
	}
	if len(cases) < 19 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		p, ok := catalog.PartitionOf(c.region)
		if valid := catalog.ValidRegion(c.region); valid != (c.partition != "") || ok != valid || p != c.partition {
			t.Errorf("%q: valid %v, partition %q %v; want partition %q", c.region, valid, p, ok, c.partition)
		}
	}
	// Every region the SDK names is valid and in its own partition.
	n := 0
	for _, id := range catalog.Partitions() {
		for _, r := range catalog.PartitionRegions(id) {
			n++
			if p, _ := catalog.PartitionOf(r); p != id || !catalog.ValidRegion(r) {
				t.Errorf("%s: partition %q, valid %v; want %s", r, p, catalog.ValidRegion(r), id)
			}
		}
	}
	if n < 40 || len(catalog.Partitions()) < 8 {
		t.Errorf("%d regions in %d partitions: fewer than the SDK's", n, len(catalog.Partitions()))
	}
}

// The region pattern is read the same way by Go and by an ECMA-262 engine
// (editors validate config.json with schema.json): node, when installed.
func TestRegionPatternIsPortable(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: the ECMA-262 reading of the pattern is not checked")
	}
	samples := []string{"us-east-1", "eusc-de-east-1", "us-isob-east-1", "EU-WEST-1", "eu-west", "us-gov-west-1", "eu_west_1"}
	script := `const re = new RegExp(process.argv[1], "u"); console.log(JSON.stringify(process.argv.slice(2).map(s => re.test(s))))`
	out, err := exec.Command(node, append([]string{"-e", script, catalog.RegionPattern()}, samples...)...).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []bool
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node said %q: %v", out, err)
	}
	for i, s := range samples {
		if got[i] != catalog.ValidRegion(s) {
			t.Errorf("%q: ECMA-262 %v, Go %v", s, got[i], catalog.ValidRegion(s))
		}
	}
}
