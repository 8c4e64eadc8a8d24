package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

const multiKindConfig = `{"resources": [
  {"kind": "AWS::Lambda::Function", "selector": {"aws": {"regions": ["eu-west-1", "us-east-1"]}},
   "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "lambda", "properties": {}},
                                    {"itemsToParse": ".Layers", "identifier": ".item", "blueprint": "\"layer\"", "properties": {}}]}}},
  {"kind": "AWS::ElasticLoadBalancingV2::Listener", "selector": {"aws": {"regions": ["eu-west-1"], "trust_list_properties": true,
     "regions_config": {"eu-west-1": {"resources_models": ["{\"LoadBalancerArn\": \"arn:lb:1\"}", "{\"LoadBalancerArn\": \"arn:lb:2\"}"]}}}},
   "port": {"entity": {"mappings": [{"identifier": ".ListenerArn | split(\"/\")[-1]", "blueprint": "listener", "properties": {}}]}}},
  {"kind": "AWS::Lambda::Function", "selector": {"query": ".Runtime == \"python3.12\""},
   "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "if .Runtime then \"pyFunction\" else \"x\" end", "properties": {}}]}}},
  {"kind": "AWS::SQS::Queue",
   "port": {"entity": {"mappings": [{"identifier": ".QueueName", "blueprint": "\"queue\" | ascii_upcase", "properties": {}},
                                    {"identifier": ".QueueName", "blueprint": "queue", "properties": {}}]}}}
]}`

func TestMapperLookups(t *testing.T) {
	m := compileConfig(t, []byte(multiKindConfig))
	if got, want := m.Kinds(), []string{"AWS::Lambda::Function", "AWS::ElasticLoadBalancingV2::Listener", "AWS::SQS::Queue"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds = %v, want %v", got, want)
	}
	lambdas := m.ForKind("AWS::Lambda::Function")
	if len(lambdas) != 2 || lambdas[0].Index != 0 || lambdas[1].Index != 2 {
		t.Fatalf("ForKind(Lambda) = %v, want entries 0 and 2 in order", lambdas)
	}
	if got := m.ForKind("AWS::S3::Bucket"); len(got) != 0 {
		t.Errorf("ForKind(unconfigured) = %v", got)
	}
	if all := m.Resources(); len(all) != 4 || all[3].Kind != "AWS::SQS::Queue" || all[3].Path() != "resources[3]" {
		t.Errorf("Resources = %v", all)
	}

	listener := m.Resources()[1]
	if !listener.TrustListProperties || lambdas[0].TrustListProperties {
		t.Error("TrustListProperties not carried from the config")
	}
	if got := lambdas[0].Regions("ap-south-1"); !reflect.DeepEqual(got, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("configured regions = %v", got)
	}
	if got := lambdas[1].Regions("ap-south-1"); !reflect.DeepEqual(got, []string{"ap-south-1"}) {
		t.Errorf("default region = %v", got)
	}
	if got := listener.ResourceModels("eu-west-1"); !reflect.DeepEqual(got, []string{`{"LoadBalancerArn": "arn:lb:1"}`, `{"LoadBalancerArn": "arn:lb:2"}`}) {
		t.Errorf("ResourceModels(eu-west-1) = %v", got)
	}
	if got := listener.ResourceModels("us-east-1"); got != nil {
		t.Errorf("ResourceModels(unconfigured region) = %v, want nil", got)
	}
	// Returned slices are copies: callers cannot change the mapper.
	listener.ResourceModels("eu-west-1")[0] = "changed"
	lambdas[0].Regions("x")[0] = "changed"
	m.Kinds()[0] = "changed"
	if listener.ResourceModels("eu-west-1")[0] == "changed" || lambdas[0].Regions("x")[0] == "changed" || m.Kinds()[0] == "changed" {
		t.Error("a returned slice aliases the mapper's state")
	}
}

func TestStaticBlueprints(t *testing.T) {
	m := compileConfig(t, []byte(multiKindConfig))
	cases := []struct {
		entry int
		want  []string
		ok    bool
	}{
		{0, []string{"lambda", "layer"}, true},
		{1, []string{"listener"}, true},
		// Depends on .Runtime, yet evaluates against null without error (to
		// "x"): the rule cannot see the dependency. COMPATIBILITY.md says so.
		{2, []string{"x"}, true},
		{3, []string{"QUEUE", "queue"}, true},
	}
	for _, tc := range cases {
		got, ok := m.Resources()[tc.entry].StaticBlueprints()
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("entry %d: StaticBlueprints = %v, %v; want %v, %v", tc.entry, got, ok, tc.want, tc.ok)
		}
	}
	dynamic := compileConfig(t, []byte(`{"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [
	  {"identifier": ".a", "blueprint": "b", "properties": {}},
	  {"identifier": ".a", "blueprint": ".Blueprint | ascii_downcase", "properties": {}}]}}}]}`))
	if got, ok := dynamic.Resources()[0].StaticBlueprints(); ok || !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("input-dependent blueprint: %v, %v; want [b], false", got, ok)
	}
}

// TestCompileReportsWhatValidateReports: one checker, two callers.
func TestCompileReportsWhatValidateReports(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"resources": [{"kind": "AWS::SQS::Queue", "selector": {"query": ".a |"},
	  "port": {"entity": {"mappings": [{"identifier": "", "blueprint": "q", "properties": {"x": "env"}}]}}}]}`), config.JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(cfg)
	var verr *config.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want *config.ValidationError", err)
	}
	if !reflect.DeepEqual(verr.Problems, config.Validate(cfg)) || len(verr.Problems) != 3 {
		t.Fatalf("Compile problems %v differ from Validate's %v", verr.Problems, config.Validate(cfg))
	}
}

func TestMapIsSafeForConcurrentUse(t *testing.T) {
	r := compileConfig(t, []byte(multiKindConfig)).Resources()[0]
	errs := make(chan error, 32)
	for i := range 32 {
		go func() {
			name := fmt.Sprintf("fn-%d", i)
			res, err := r.Map(t.Context(), source.Resource{Region: "eu-west-1", Kind: r.Kind, Identifier: name,
				Properties: map[string]any{"FunctionName": name, "Layers": []any{"l-" + name}}})
			switch {
			case err != nil:
				errs <- err
			case len(res.Entities) != 2 || res.Entities[0].Identifier != name || res.Entities[1].Identifier != "l-"+name:
				errs <- fmt.Errorf("%s mapped to %v", name, res.Entities)
			default:
				errs <- nil
			}
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestMapDoesNotModifyTheResource(t *testing.T) {
	r := compileConfig(t, []byte(multiKindConfig)).Resources()[0]
	props := map[string]any{"FunctionName": "f", "Layers": []any{"a", "b"}}
	if _, err := r.Map(t.Context(), source.Resource{Kind: r.Kind, Identifier: "f", Properties: props}); err != nil {
		t.Fatal(err)
	}
	if _, has := props["item"]; has || len(props) != 2 {
		t.Fatalf("Map changed the resource's properties: %v", props)
	}
}

func TestMapErrorNamesResourceWithoutRegionNoise(t *testing.T) {
	r := compileConfig(t, []byte(`{"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [{"identifier": ".x", "blueprint": "l", "properties": {}}]}}}]}`)).Resources()[0]
	_, err := r.Map(t.Context(), source.Resource{Region: "eu-west-1", Kind: "AWS::Lambda::Function", Identifier: "my-fn", Properties: nil})
	want := `resources[0].port.entity.mappings[0].identifier: resource "my-fn" (AWS::Lambda::Function, eu-west-1): identifier is empty (the expression gave null)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if strings.Count(err.Error(), "my-fn") != 1 {
		t.Fatal("resource named more than once")
	}
}
