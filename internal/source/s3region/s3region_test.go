package s3region

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// bucketWorld has the account's buckets in moto (their real regions, for
// GetBucketLocation) and in the Cloud Control emulator, which lists every
// bucket of the account in every region, as Cloud Control does.
type bucketWorld struct {
	emu      *cloudcontrol.Emulator
	cc       *source.CloudControl
	motoCfg  aws.Config
	observed *calls
}

type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) observe(op, _ string, _ error, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
}

func (c *calls) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// buckets: name → region (moto's LocationConstraint).
var buckets = map[string]string{
	"logs-east": "us-east-1",  // no LocationConstraint
	"data-eu":   "eu-west-1",  // configured, not the home region
	"media-ap":  "ap-south-1", // a region the config does not sync S3 in
}

// ccRegions are the regions whose Cloud Control lists the buckets.
var ccRegions = []string{"us-east-1", "eu-west-1", "ap-south-1"}

func newBucketWorld(t *testing.T) *bucketWorld {
	t.Helper()
	m := moto.Start(t)
	ctx := context.Background()
	w := &bucketWorld{emu: cloudcontrol.New(), motoCfg: m.AWSConfig(ctx, "us-east-1"), observed: &calls{n: map[string]int{}}}
	s3c := s3.NewFromConfig(w.motoCfg, func(o *s3.Options) { o.UsePathStyle = true })
	for name, region := range buckets {
		in := &s3.CreateBucketInput{Bucket: aws.String(name)}
		if region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
		}
		if _, err := s3c.CreateBucket(ctx, in); err != nil {
			t.Fatalf("create bucket %s: %v", name, err)
		}
		for _, r := range ccRegions {
			props := map[string]any{"BucketName": name, "Arn": "arn:aws:s3:::" + name, "RegionalDomainName": name + ".s3." + region + ".amazonaws.com"}
			if err := w.emu.Put(r, Kind, name, props); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.emu.SetType(Kind, cloudcontrol.TypeConfig{ListProperties: []string{"BucketName"}})
	srv, err := w.emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	w.cc = source.NewCloudControl(srv.AWSConfig("us-east-1"), source.Options{RequestsPerSecond: -1, Observe: w.observed.observe})
	return w
}

func (w *bucketWorld) reader(regions ...string) *Reader {
	return New(w.motoCfg, w.cc, Options{
		Regions:   func(string) []string { return regions },
		Source:    source.Options{RequestsPerSecond: -1, MaxRetries: 1, Observe: w.observed.observe},
		S3Options: []func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }},
	})
}

func shard(region string) source.Shard {
	return source.Shard{AccountID: moto.AccountID, Region: region, Kind: Kind}
}

func listed(t *testing.T, r *Reader, region string, opts source.ListOptions) map[string]source.Resource {
	t.Helper()
	out := map[string]source.Resource{}
	if err := r.List(context.Background(), shard(region), opts, func(res source.Resource) error {
		out[res.Identifier] = res
		return nil
	}); err != nil {
		t.Fatalf("list %s: %v", region, err)
	}
	return out
}

func names(m map[string]source.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every bucket is listed by exactly one shard, with its real region: its
// own region's shard when the config syncs S3 there, else the home shard
// (the config's first region); each bucket's location is asked once, and
// only the buckets a shard owns are read (GetResource).
func TestEachBucketBelongsToOneShardWithItsRealRegion(t *testing.T) {
	w := newBucketWorld(t)
	r := w.reader("eu-west-1", "us-east-1") // eu-west-1 is the home shard

	eu := listed(t, r, "eu-west-1", source.ListOptions{})
	us := listed(t, r, "us-east-1", source.ListOptions{})
	if got := names(eu); len(got) != 2 || got[0] != "data-eu" || got[1] != "media-ap" {
		t.Errorf("eu-west-1 (home) lists %v, want data-eu and media-ap (whose region is not synced)", got)
	}
	if got := names(us); len(got) != 1 || got[0] != "logs-east" {
		t.Errorf("us-east-1 lists %v, want logs-east", got)
	}
	for name, res := range mergeMaps(eu, us) {
		if res.Region != buckets[name] {
			t.Errorf("%s has region %s, want its real region %s", name, res.Region, buckets[name])
		}
		if res.Properties["Arn"] != "arn:aws:s3:::"+name {
			t.Errorf("%s: properties %v, want GetResource's", name, res.Properties)
		}
	}
	if n := w.observed.get("S3.GetBucketLocation"); n != len(buckets) {
		t.Errorf("%d GetBucketLocation calls for %d buckets over two shards, want one per bucket", n, len(buckets))
	}
	if n := w.observed.get("GetResource"); n != len(buckets) {
		t.Errorf("%d GetResource calls, want %d (each bucket read once, by its shard)", n, len(buckets))
	}

	// A region that is neither a bucket's nor the home lists nothing, and
	// trusting the list properties reads no GetResource.
	before := w.observed.get("GetResource")
	if got := listed(t, r, "ap-south-1", source.ListOptions{TrustListProperties: true}); len(got) != 0 {
		t.Errorf("ap-south-1, which the config does not sync, lists %v", names(got))
	}
	if got := listed(t, r, "us-east-1", source.ListOptions{TrustListProperties: true}); len(got) != 1 || w.observed.get("GetResource") != before {
		t.Errorf("trusted listing: %v, %d GetResource calls", names(got), w.observed.get("GetResource")-before)
	}
}

func mergeMaps(ms ...map[string]source.Resource) map[string]source.Resource {
	out := map[string]source.Resource{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Get answers for the buckets the shard owns; a bucket another shard owns
// is an error, never "not found" (it exists: no deletion may follow); a
// bucket that is gone is Cloud Control's not-found.
func TestGetOnlyForTheOwningShard(t *testing.T) {
	w := newBucketWorld(t)
	r := w.reader("eu-west-1", "us-east-1")
	ctx := context.Background()

	res, err := r.Get(ctx, shard("eu-west-1"), "media-ap")
	if err != nil || res.Region != "ap-south-1" || res.Identifier != "media-ap" {
		t.Fatalf("Get media-ap from the home shard: %+v, %v", res, err)
	}
	_, err = r.Get(ctx, shard("us-east-1"), "data-eu")
	var se *source.ShardError
	if errors.Is(err, source.ErrNotFound) || !errors.As(err, &se) || se.Reason != source.ReasonInvalidRequest || source.IsTransient(err) {
		t.Fatalf("Get data-eu from us-east-1: %v, want a permanent error that is not not-found", err)
	}

	// Gone from S3 and from Cloud Control: not found (proof), from any shard.
	s3c := s3.NewFromConfig(w.motoCfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("logs-east")}); err != nil {
		t.Fatal(err)
	}
	for _, region := range ccRegions {
		w.emu.Delete(region, Kind, "logs-east")
	}
	fresh := w.reader("eu-west-1", "us-east-1") // no cached location
	if _, err := fresh.Get(ctx, shard("us-east-1"), "logs-east"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get a deleted bucket: %v, want not found", err)
	}
	if _, err := fresh.Get(ctx, shard("us-east-1"), "never-existed"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get a bucket that never existed: %v, want not found", err)
	}
}

// A bucket S3 says is gone while Cloud Control still lists it is skipped,
// not read; a location S3 will not tell (access denied) sends the bucket to
// the home shard; a failure to locate is the shard's error (no deletion).
func TestLocationAnswers(t *testing.T) {
	w := newBucketWorld(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(w.motoCfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("data-eu")}); err != nil {
		t.Fatal(err)
	}
	r := w.reader("eu-west-1", "us-east-1")
	if got := names(listed(t, r, "eu-west-1", source.ListOptions{})); len(got) != 1 || got[0] != "media-ap" {
		t.Errorf("eu-west-1 lists %v after data-eu left S3, want media-ap only", got)
	}

	// Without the config's regions each bucket is its own region's.
	alone := New(w.motoCfg, w.cc, Options{Source: source.Options{RequestsPerSecond: -1},
		S3Options: []func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }}})
	if got := names(listed(t, alone, "ap-south-1", source.ListOptions{})); len(got) != 1 || got[0] != "media-ap" {
		t.Errorf("without regions, ap-south-1 lists %v", got)
	}

	// S3 refuses to tell (AccessDenied, as a bucket policy may): the
	// bucket is the home shard's, with that shard's region.
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>r</RequestId></Error>`)
	}))
	defer denied.Close()
	blind := New(w.motoCfg, w.cc, Options{Regions: func(string) []string { return []string{"ap-south-1", "us-east-1"} },
		Source: source.Options{RequestsPerSecond: -1},
		S3Options: []func(*s3.Options){func(o *s3.Options) {
			o.UsePathStyle = true
			o.BaseEndpoint = aws.String(denied.URL)
		}}})
	home := listed(t, blind, "ap-south-1", source.ListOptions{})
	if got := names(home); len(got) != 3 || home["logs-east"].Region != "ap-south-1" {
		t.Errorf("with locations denied, the home shard lists %v (logs-east in %s), want all three in ap-south-1", got, home["logs-east"].Region)
	}
	if got := listed(t, blind, "us-east-1", source.ListOptions{}); len(got) != 0 {
		t.Errorf("with locations denied, us-east-1 lists %v, want none", names(got))
	}

	// S3 unreachable: the shard fails as a whole.
	broken := New(w.motoCfg, w.cc, Options{Regions: func(string) []string { return []string{"us-east-1"} },
		Source: source.Options{RequestsPerSecond: -1, MaxRetries: -1},
		S3Options: []func(*s3.Options){func(o *s3.Options) {
			o.UsePathStyle = true
			o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		}}})
	err := broken.List(ctx, shard("us-east-1"), source.ListOptions{}, func(source.Resource) error { return nil })
	var se *source.ShardError
	if !errors.As(err, &se) || se.Shard.Region != "us-east-1" {
		t.Fatalf("List with S3 down: %v, want the shard's error", err)
	}
}

func TestBucketRegion(t *testing.T) {
	for in, want := range map[types.BucketLocationConstraint]string{"": "us-east-1", "EU": "eu-west-1", "eu-central-1": "eu-central-1"} {
		if got := bucketRegion(in); got != want {
			t.Errorf("bucketRegion(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"eu-west-1": "us-east-1", "cn-northwest-1": "cn-north-1", "us-gov-east-1": "us-gov-west-1"} {
		if got := partitionRegion(in); got != want {
			t.Errorf("partitionRegion(%q) = %q, want %q", in, got, want)
		}
	}
}
