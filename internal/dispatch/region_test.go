package dispatch_test

import (
	"context"
	"slices"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
)

// An event from a region of a partition other than the commercial one (the
// European Sovereign Cloud, an ISO region) is processed like any other: its
// resource is read in that region and its entity lands; nothing is
// dead-lettered for the region's name.
func TestEventsFromEveryPartitionAreProcessed(t *testing.T) {
	cfg := []byte(`resources:
  - kind: AWS::S3::Bucket
    selector:
      aws:
        regions: [eusc-de-east-1, us-isob-east-1, eu-isoe-west-1]
    port:
      entity:
        mappings:
          - identifier: .BucketName
            blueprint: '"bucket"'
            properties:
              arn: .Arn
`)
	s := dispatchtest.New(t, dispatchtest.Options{Config: cfg})
	regions := map[string]string{"eusc-de-east-1": "aws-eusc", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e"}
	var items []dispatch.Item
	var want []string
	for region, partition := range regions {
		name := "bucket-" + region
		if err := s.CC.Put(region, "AWS::S3::Bucket", name, map[string]any{"BucketName": name, "Arn": "arn:" + partition + ":s3:::" + name}); err != nil {
			t.Fatal(err)
		}
		items = append(items, dispatch.Item{ID: region, Body: []byte(`{"resource_type":"AWS::S3::Bucket","region":"\"` + region + `\"","identifier":"\"` + name + `\""}`)})
		want = append(want, name)
	}
	out := s.Handler.HandleBatch(context.Background(), items)
	if len(out) != len(items) {
		t.Fatalf("%d outcomes for %d messages", len(out), len(items))
	}
	for _, o := range out {
		if o.Status != dispatch.StatusOK {
			t.Errorf("%s: %s (%s: %v), want ok", o.ID, o.Status, o.Reason, o.Err)
		}
	}
	got := s.IDs("bucket")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("entities %v, want %v", got, want)
	}
}
