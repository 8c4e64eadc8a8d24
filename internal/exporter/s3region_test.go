package exporter

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const bucketsConfig = `{"resources": [{"kind": "AWS::S3::Bucket",
  "selector": {"aws": {"regions": ["eu-west-1", "us-east-1"]}},
  "port": {"entity": {"mappings": [{"identifier": ".BucketName", "blueprint": "bucket",
    "properties": {"arn": ".Arn", "regionalDomainName": ".RegionalDomainName"}}]}}}]}`

func bucketShard(region string) source.Shard {
	return source.Shard{AccountID: moto.AccountID, Region: region, Kind: "AWS::S3::Bucket"}
}

// With S3 synced in eu-west-1 (the home shard) and us-east-1, each bucket is
// written by one shard, that of its real region (or the home shard's when
// the config does not sync its region), stale deletion stays per shard, and
// neither a full sync nor shards reconciled one by one (Lambda's fan-out),
// in either order, deletes a bucket that exists; an entity an older version
// wrote from another region's shard moves to the bucket's own.
func TestBucketsSyncOncePerAccountInTheirOwnRegion(t *testing.T) {
	m := moto.Start(t)
	ctx := context.Background()
	emu := cloudcontrol.New()
	emu.SetType("AWS::S3::Bucket", cloudcontrol.TypeConfig{ListProperties: []string{"BucketName"}})
	real := map[string]string{"logs-east": "us-east-1", "data-eu": "eu-west-1", "media-ap": "ap-south-1"}
	s3c := s3.NewFromConfig(m.AWSConfig(ctx, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true })
	for name, region := range real {
		in := &s3.CreateBucketInput{Bucket: aws.String(name)}
		if region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := s3c.CreateBucket(ctx, in); err != nil {
			t.Fatal(err)
		}
		for _, listing := range []string{"us-east-1", "eu-west-1", "ap-south-1"} {
			props := map[string]any{"BucketName": name, "Arn": "arn:aws:s3:::" + name, "RegionalDomainName": name + ".s3." + region + ".amazonaws.com"}
			if err := emu.Put(listing, "AWS::S3::Bucket", name, props); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("AWS_ENDPOINT_URL_CLOUDCONTROL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_S3", m.URL)

	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	if err := double.AddBlueprint([]byte(`{"identifier": "bucket", "title": "Bucket", "schema": {"properties": {
	  "arn": {"type": "string"}, "regionalDomainName": {"type": "string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	// What an older version left: data-eu last written by us-east-1's shard
	// (every shard wrote every bucket), and a bucket deleted since, eu-west-1's.
	double.Put(registry.UserAgent(bucketShard("us-east-1")), entity.Entity{Blueprint: "bucket", Identifier: "data-eu", Properties: map[string]any{}})
	double.Put(registry.UserAgent(bucketShard("eu-west-1")), entity.Entity{Blueprint: "bucket", Identifier: "gone-bucket", Properties: map[string]any{}})

	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgPath, []byte(bucketsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := valid()
	s.MaxDeleteShare = 1
	opts := Options{
		ConfigLocation: cfgPath, NeedPort: true, OneShot: true, AccountID: moto.AccountID, Sync: s,
		Events: &EventSettings{Concurrency: 1, Timeout: 20 * time.Second},
		Port:   port.Config{BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion("eu-west-1"),
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDTEST", "test", ""))),
		},
	}
	b, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	writers := func() map[string]string {
		out := map[string]string{}
		for _, e := range double.Entities("bucket") {
			out[e.Identifier] = e.Datasource
		}
		return out
	}
	owner := map[string]string{"logs-east": "us-east-1", "data-eu": "eu-west-1", "media-ap": "eu-west-1"}
	check := func(t *testing.T, when string) {
		t.Helper()
		got := writers()
		if len(got) != len(owner) {
			t.Fatalf("%s: Port holds %v, want exactly %v", when, got, owner)
		}
		for name, region := range owner {
			if got[name] != registry.UserAgent(bucketShard(region)) {
				t.Errorf("%s: %s written by %q, want the %s shard", when, name, got[name], region)
			}
		}
	}

	emu.ResetCounts()
	report, err := b.Controller.Run(ctx)
	if err != nil || !report.OK() {
		t.Fatalf("sync: %v %+v", err, report.Shards)
	}
	check(t, "after the full sync")
	listedBy := map[string]int{}
	for _, sh := range report.Shards {
		listedBy[sh.Shard.Region] = sh.Listed
		if sh.Shard.Region == "eu-west-1" && !slices.Equal(sh.Deletes, []entity.Ref{{Blueprint: "bucket", Identifier: "gone-bucket"}}) {
			t.Errorf("eu-west-1 deleted %v, want gone-bucket only", sh.Deletes)
		}
	}
	if listedBy["eu-west-1"] != 2 || listedBy["us-east-1"] != 1 {
		t.Errorf("listed per shard %v, want eu-west-1 2 and us-east-1 1", listedBy)
	}
	if gets := emu.Counts("GetResource", "eu-west-1").Calls + emu.Counts("GetResource", "us-east-1").Calls; gets != len(real) {
		t.Errorf("%d GetResource calls, want %d: one per bucket, not one per bucket and region", gets, len(real))
	}
	if e, _ := double.Entity("bucket", "media-ap"); e.Properties["regionalDomainName"] != "media-ap.s3.ap-south-1.amazonaws.com" {
		t.Errorf("media-ap: %v", e.Properties)
	}

	// Lambda's fan-out: each shard reconciled on its own, in both orders.
	for _, order := range [][]string{{"us-east-1", "eu-west-1"}, {"eu-west-1", "us-east-1"}} {
		for _, region := range order {
			sh, ok := b.Controller.Shard(moto.AccountID, region, "AWS::S3::Bucket")
			if !ok {
				t.Fatalf("no shard %s", region)
			}
			r := b.Controller.Reconcile(ctx, controller.Scope{Shard: sh})
			if !r.OK() || r.Deleted != 0 || len(r.Withheld) != 0 {
				t.Fatalf("reconcile %s alone: ok %v, deleted %d, withheld %v, errors %v", region, r.OK(), r.Deleted, r.Withheld, r.Errors)
			}
		}
		check(t, "after shards reconciled one by one")
	}

	// An event for a bucket in its own shard upserts it; one that names
	// another shard's region changes nothing and deletes nothing.
	body := func(region, bucket string) []byte {
		return []byte(`{"resource_type": "AWS::S3::Bucket", "region": "\"` + region + `\"", "identifier": "\"` + bucket + `\"", "action": "\"delete\""}`)
	}
	if o := b.Events.HandleBatch(ctx, []dispatch.Item{{ID: "own", Body: body("eu-west-1", "data-eu")}})[0]; o.Status != dispatch.StatusOK || !o.Report.Found || len(o.Report.Deletes) != 0 {
		t.Errorf("delete message for data-eu in eu-west-1: %v %v %+v, want found and refreshed", o.Status, o.Err, o.Report)
	}
	o := b.Events.HandleBatch(ctx, []dispatch.Item{{ID: "other", Body: body("us-east-1", "data-eu")}})[0]
	if o.Status != dispatch.StatusDeadLetter || len(o.Report.Deletes) != 0 {
		t.Errorf("delete message for data-eu in us-east-1: %v %v, deletes %v; want refused, nothing deleted", o.Status, o.Err, o.Report.Deletes)
	}
	check(t, "after the events")
}
