package exporter

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"go.yaml.in/yaml/v3"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/source/describe"
	"github.com/port-labs/port-aws-exporter/internal/testbed/describetest"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const describeRegion = "eu-west-1"

// describeConfigs are every published config of the five Describe kinds,
// and ours for the two kinds Port published none for (testdata/describe).
var describeConfigs = []string{
	"../config/testdata/published/docs-examples-12-ec2_instance.json",
	"../config/testdata/published/template-assets-ec2_instance.json",
	"../config/testdata/published/docs-examples-13-elasticloadbalancingv2_loadbalancer.json",
	"../config/testdata/published/template-assets-load_balancer.json",
	"../config/testdata/published/docs-examples-17-elasticache_cachecluster.json",
	"../config/testdata/published/template-assets-elasticache_cluster.json",
	"testdata/describe/cloudformation_stack.json",
	"testdata/describe/acm_certificate.json",
}

// describeWorld is moto with the describe fixture, the original exporter's
// documents of it (boto3), and a Port double with the configs' blueprints.
type describeWorld struct {
	moto    *moto.Server
	fixture describetest.Fixture
	boto3   map[string]map[string]map[string]any
	port    *portapi.Server
	cfg     aws.Config
}

func newDescribeWorld(t *testing.T) *describeWorld {
	t.Helper()
	m := moto.Start(t)
	python := describetest.Boto3Python(t)
	ctx := context.Background()
	w := &describeWorld{moto: m, cfg: m.AWSConfig(ctx, describeRegion)}
	w.fixture = describetest.Populate(t, ctx, w.cfg)
	w.boto3 = describetest.Boto3Documents(t, python, m.URL, describeRegion)
	w.port = portapi.New(portapi.Options{})
	t.Cleanup(w.port.Close)
	raw, err := os.ReadFile("testdata/describe/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	var bps []json.RawMessage
	if err := json.Unmarshal(raw, &bps); err != nil {
		t.Fatal(err)
	}
	for _, bp := range bps {
		if err := w.port.AddBlueprint(bp); err != nil {
			t.Fatalf("blueprint %s: %v", bp, err)
		}
	}
	return w
}

// options build the exporter as the product does, with the AWS SDK aimed at moto.
func (w *describeWorld) options(configPath string) Options {
	s := valid()
	return Options{
		ConfigLocation: configPath, NeedPort: true, OneShot: true, AccountID: moto.AccountID, Sync: s,
		Port: port.Config{BaseURL: w.port.URL(), ClientID: w.port.ClientID(), ClientSecret: w.port.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion(describeRegion),
			awsconfig.WithBaseEndpoint(w.moto.URL),
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDMOTOTESTING", "moto-test-secret", ""))),
		},
	}
}

// originalEntities maps boto3's documents (what the original exporter's
// mappings saw) through the config: the entities the original would have
// written, by blueprint and identifier, as JSON values.
func (w *describeWorld) originalEntities(t *testing.T, path string) map[entity.Ref]map[string]any {
	t.Helper()
	cfg, err := config.Load(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[entity.Ref]map[string]any{}
	for _, r := range m.Resources() {
		for id, doc := range w.boto3[r.Kind] {
			doc = describetest.WithISOTimestamps(doc).(map[string]any)
			res, err := r.Map(context.Background(), source.Resource{AccountID: moto.AccountID, Region: describeRegion, Kind: r.Kind, Identifier: id, Properties: doc})
			if err != nil {
				t.Fatalf("map boto3's %s %s: %v", r.Kind, id, err)
			}
			for _, e := range res.Entities {
				out[e.Ref()] = jsonValue(t, e)
			}
		}
	}
	return out
}

// jsonValue is v as Port receives it (numbers as float64).
func jsonValue(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every published config of the Describe kinds syncs through the real SDK
// (moto) into the Port double, and each entity is, property by property,
// what Port's original exporter would have written from boto3's documents;
// the properties that stay null are null for the original too (moto does
// not return them), and each config's key properties are checked by value.
func TestPublishedDescribeConfigsSyncAsTheOriginal(t *testing.T) {
	w := newDescribeWorld(t)
	f := w.fixture
	lbLink := "https://console.aws.amazon.com/go/view?arn=" + f.WebLB.ARN
	want := map[string]struct {
		blueprint string
		entities  map[string]map[string]any // identifier → properties that must hold exactly
	}{
		"docs-examples-12-ec2_instance.json": {"ec2Instance", map[string]map[string]any{f.RunningInstance: {
			"state": "running", "type": f.InstanceType, "availabilityZone": f.AvailabilityZone, "vpcId": f.VpcID, "architecture": "x86_64",
			"link": "https://console.aws.amazon.com/ec2/home?region=" + describeRegion + "#InstanceDetails:instanceId=" + f.RunningInstance,
			"tags": []any{map[string]any{"Key": "Name", "Value": "web"}, map[string]any{"Key": "team", "Value": "web"}}}}},
		"template-assets-ec2_instance.json": {"ec2_instance", map[string]map[string]any{f.RunningInstance: {
			"state": "running", "type": f.InstanceType, "availabilityZone": f.AvailabilityZone}}},
		"docs-examples-13-elasticloadbalancingv2_loadbalancer.json": {"loadBalancer", map[string]map[string]any{
			f.WebLB.Name: {"state": "active", "type": "application", "arn": f.WebLB.ARN, "link": lbLink, "vpcId": f.VpcID,
				"tags": []any{map[string]any{"Key": "team", "Value": "web"}}},
			f.NetLB.Name: {"scheme": "internal", "arn": f.NetLB.ARN, "tags": []any{}, "listeners": []any{}}}},
		"template-assets-load_balancer.json": {"loadBalancer", map[string]map[string]any{
			f.WebLB.Name: {"state": "active", "arn": f.WebLB.ARN}, f.NetLB.Name: {"arn": f.NetLB.ARN}}},
		"docs-examples-17-elasticache_cachecluster.json": {"aws_cache_cluster", map[string]map[string]any{f.CacheCluster: {
			"engine": "redis", "nodeType": "cache.t3.micro", "status": "available", "numNodes": float64(1), "arn": f.CacheARN,
			"tags": []any{map[string]any{"Key": "team", "Value": "cache"}}}}},
		"template-assets-elasticache_cluster.json": {"elasticache_cluster", map[string]map[string]any{f.CacheCluster: {
			"engine": "redis", "arn": f.CacheARN, "link": "https://console.aws.amazon.com/go/view?arn=" + f.CacheARN}}},
		"cloudformation_stack.json": {"cloudFormationStack", map[string]map[string]any{
			f.JSONStack.Name: {"status": "CREATE_COMPLETE", "link": "https://console.aws.amazon.com/go/view?arn=" + f.JSONStack.ARN,
				"tags": []any{map[string]any{"Key": "team", "Value": "platform"}}},
			f.YAMLStack.Name: {"status": "CREATE_COMPLETE",
				"template": "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: alerts\n"}}},
		"acm_certificate.json": {"acmCertificate", map[string]map[string]any{f.Certificate[strings.LastIndex(f.Certificate, "/")+1:]: {
			"domainName": "example.com", "arn": f.Certificate, "keyAlgorithm": "RSA_2048", "validationMethod": "DNS"}}},
	}
	if len(want) != len(describeConfigs) {
		t.Fatalf("%d configs with expectations, %d configs", len(want), len(describeConfigs))
	}
	for _, path := range describeConfigs {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			exp := want[name]
			b, err := Build(context.Background(), w.options(path))
			if err != nil {
				t.Fatal(err)
			}
			report, err := b.Controller.Run(context.Background())
			if err != nil || !report.OK() {
				t.Fatalf("sync: %v, report %+v", err, report.Shards)
			}
			original := w.originalEntities(t, path)
			got := map[string]map[string]any{}
			for _, e := range w.port.Entities(exp.blueprint) {
				got[e.Identifier] = jsonValue(t, e.Entity)
			}
			if !reflect.DeepEqual(sortedIDs(got), sortedIDs(exp.entities)) {
				t.Fatalf("Port holds %s entities %v, want %v", exp.blueprint, sortedIDs(got), sortedIDs(exp.entities))
			}
			var nulls []string
			for id, ent := range got {
				orig, ok := original[entity.Ref{Blueprint: exp.blueprint, Identifier: id}]
				if !ok {
					t.Errorf("%s: the original would not have written it", id)
					continue
				}
				props, _ := ent["properties"].(map[string]any)
				origProps, _ := orig["properties"].(map[string]any)
				for k, v := range origProps {
					if v == nil {
						// Port keeps no null property; the original would
						// have sent null as well.
						nulls = append(nulls, k)
						if _, stored := props[k]; stored {
							t.Errorf("%s: property %s is %#v, the original's null", id, k, props[k])
						}
						continue
					}
					if k == "template" {
						compareTemplates(t, id, props[k], v)
						continue
					}
					if !reflect.DeepEqual(props[k], v) {
						t.Errorf("%s: property %s = %#v, the original's %#v", id, k, props[k], v)
					}
				}
				for k := range props {
					if _, ok := origProps[k]; !ok {
						t.Errorf("%s: property %s, which the original did not map", id, k)
					}
				}
				if !reflect.DeepEqual(ent["relations"], orig["relations"]) || ent["title"] != orig["title"] {
					t.Errorf("%s: title %v, relations %v; the original's %v, %v", id, ent["title"], ent["relations"], orig["title"], orig["relations"])
				}
				for k, v := range exp.entities[id] {
					if k == "template" {
						compareTemplates(t, id, props[k], v)
					} else if !reflect.DeepEqual(props[k], v) {
						t.Errorf("%s: property %s = %#v, want %#v", id, k, props[k], v)
					}
				}
			}
			sort.Strings(nulls)
			t.Logf("%s: %d %s entities; null (moto sends no such member; the original's boto3 document lacks it too): %v",
				name, len(got), exp.blueprint, slices.Compact(nulls))
		})
	}
}

// compareTemplates compares two YAML template texts by the values they hold
// (the layout of a JSON template written as YAML differs from PyYAML's).
func compareTemplates(t *testing.T, id string, got, want any) {
	t.Helper()
	gs, _ := got.(string)
	ws, _ := want.(string)
	var gv, wv any
	if err := yaml.Unmarshal([]byte(gs), &gv); err != nil || gs == "" {
		t.Errorf("%s: template %q is not YAML: %v", id, gs, err)
		return
	}
	if err := yaml.Unmarshal([]byte(ws), &wv); err != nil {
		t.Fatalf("%s: the expected template is not YAML: %v", id, err)
	}
	if !reflect.DeepEqual(gv, wv) {
		t.Errorf("%s: template\n%s\nholds other values than\n%s", id, gs, ws)
	}
}

func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// message is an events-queue body as Port's published rules build them.
func message(kind, identifier, action string) []byte {
	b, _ := json.Marshal(map[string]string{
		"resource_type": kind,
		"region":        `"` + describeRegion + `"`,
		"identifier":    `"` + identifier + `"`,
		"action":        `"` + action + `"`,
	})
	return b
}

// Events for Describe kinds go through the same reader: a found resource is
// upserted (also by a "delete" message), a terminated instance is found and
// dropped by the selector, and a deletion happens only on the service's own
// not-found (InvalidInstanceID.NotFound, LoadBalancerNotFound), by a direct
// read or a listing, for entities the shard owns.
func TestDescribeEventsUpsertAndDeleteWithProof(t *testing.T) {
	w := newDescribeWorld(t)
	f := w.fixture
	ctx := context.Background()
	handle := func(t *testing.T, configPath string, body []byte) dispatch.Outcome {
		t.Helper()
		opts := w.options(configPath)
		opts.Events = &EventSettings{Concurrency: 1, Timeout: 20 * time.Second}
		b, err := Build(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return b.Events.HandleBatch(ctx, []dispatch.Item{{ID: "m", Body: body}})[0]
	}
	ec2Config := "../config/testdata/published/docs-examples-12-ec2_instance.json"
	ec2Shard := source.Shard{AccountID: moto.AccountID, Region: describeRegion, Kind: describe.KindEC2Instance}

	t.Run("a delete message for a running instance refreshes it", func(t *testing.T) {
		o := handle(t, ec2Config, message(describe.KindEC2Instance, f.RunningInstance, "delete"))
		if o.Status != dispatch.StatusOK || o.Report == nil || !o.Report.Found || len(o.Report.Deletes) != 0 {
			t.Fatalf("outcome %+v, report %+v; want ok, found, nothing deleted", o, o.Report)
		}
		e, ok := w.port.Entity("ec2Instance", f.RunningInstance)
		if !ok || e.Properties["state"] != "running" || e.Properties["availabilityZone"] != f.AvailabilityZone {
			t.Fatalf("entity %+v, want the running instance upserted", e)
		}
		if e.Datasource != registry.UserAgent(ec2Shard) {
			t.Errorf("written by %q, want the shard's %q", e.Datasource, registry.UserAgent(ec2Shard))
		}
	})

	t.Run("a terminated instance is found and the selector deletes its entity", func(t *testing.T) {
		if _, err := ec2.NewFromConfig(w.cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{f.RunningInstance}}); err != nil {
			t.Fatal(err)
		}
		o := handle(t, ec2Config, message(describe.KindEC2Instance, f.RunningInstance, "upsert"))
		if o.Status != dispatch.StatusOK || !o.Report.Found || !slices.Contains(o.Report.Deletes, entity.Ref{Blueprint: "ec2Instance", Identifier: f.RunningInstance}) {
			t.Fatalf("outcome %v %v, report %+v; want found and its entity deleted", o.Status, o.Err, o.Report)
		}
		if _, ok := w.port.Entity("ec2Instance", f.RunningInstance); ok {
			t.Fatal("the terminated instance's entity is still in Port")
		}
	})

	t.Run("an instance EC2 does not know is deleted on InvalidInstanceID.NotFound", func(t *testing.T) {
		const gone = "i-0123456789abcdef0"
		w.port.Put(registry.UserAgent(ec2Shard), entity.Entity{Blueprint: "ec2Instance", Identifier: gone, Properties: map[string]any{}})
		o := handle(t, ec2Config, message(describe.KindEC2Instance, gone, "delete"))
		if o.Status != dispatch.StatusOK || o.Report.Found || !slices.Contains(o.Report.Deletes, entity.Ref{Blueprint: "ec2Instance", Identifier: gone}) {
			t.Fatalf("outcome %v %v, report %+v; want not found and deleted", o.Status, o.Err, o.Report)
		}
	})

	t.Run("an entity the shard does not own is not deleted", func(t *testing.T) {
		const other = "i-0fedcba9876543210"
		w.port.Put("someone-else/1", entity.Entity{Blueprint: "ec2Instance", Identifier: other, Properties: map[string]any{}})
		o := handle(t, ec2Config, message(describe.KindEC2Instance, other, "delete"))
		if o.Status != dispatch.StatusOK || len(o.Report.Deletes) != 0 {
			t.Fatalf("outcome %v, deletes %v; want nothing deleted", o.Status, o.Report.Deletes)
		}
		if _, ok := w.port.Entity("ec2Instance", other); !ok {
			t.Fatal("an entity of another writer was deleted")
		}
	})

	t.Run("a deleted load balancer named by the original's rule is deleted after a listing", func(t *testing.T) {
		lbConfig := "../config/testdata/published/docs-examples-13-elasticloadbalancingv2_loadbalancer.json"
		b, err := Build(ctx, w.options(lbConfig))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := b.Controller.Run(ctx); err != nil || !r.OK() {
			t.Fatalf("sync: %v %+v", err, r.Shards)
		}
		if _, err := elbv2.NewFromConfig(w.cfg).DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: &f.NetLB.ARN}); err != nil {
			t.Fatal(err)
		}
		o := handle(t, lbConfig, message(describe.KindLoadBalancer, f.NetLB.Name, "delete"))
		if o.Status != dispatch.StatusOK || o.Report.Found || !slices.Equal(o.Report.Deletes, []entity.Ref{{Blueprint: "loadBalancer", Identifier: f.NetLB.Name}}) {
			t.Fatalf("outcome %v %v, report %+v; want net-lb deleted", o.Status, o.Err, o.Report)
		}
		if _, ok := w.port.Entity("loadBalancer", f.WebLB.Name); !ok {
			t.Fatal("the listing proof deleted the load balancer that still exists")
		}
	})
}
