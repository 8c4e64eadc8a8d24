package cloudcontrol_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// The emulator answers S3's GetBucketLocation for the buckets it holds, so
// that the S3 reader works against it alone; asked through the real SDK.
func TestGetBucketLocationThroughSDK(t *testing.T) {
	e := cloudcontrol.New()
	put(t, e, "eu-west-1", "AWS::S3::Bucket", "logs-euw1", map[string]any{"BucketName": "logs-euw1"})
	put(t, e, "us-east-1", "AWS::S3::Bucket", "logs-use1", map[string]any{"BucketName": "logs-use1"})
	srv := start(t, e)
	c := s3.NewFromConfig(srv.AWSConfig("ap-southeast-2"), func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
	cases := []struct {
		bucket string
		want   types.BucketLocationConstraint
	}{
		{"logs-euw1", "eu-west-1"},
		{"logs-use1", ""}, // S3 names us-east-1 by no constraint
	}
	for _, tc := range cases {
		out, err := c.GetBucketLocation(context.Background(), &s3.GetBucketLocationInput{Bucket: &tc.bucket})
		if err != nil {
			t.Fatalf("GetBucketLocation %s: %v", tc.bucket, err)
		}
		if out.LocationConstraint != tc.want {
			t.Errorf("GetBucketLocation %s = %q, want %q", tc.bucket, out.LocationConstraint, tc.want)
		}
	}
	missing := "not-there"
	_, err := c.GetBucketLocation(context.Background(), &s3.GetBucketLocationInput{Bucket: &missing})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchBucket" {
		t.Fatalf("GetBucketLocation of a missing bucket: %v, want NoSuchBucket", err)
	}
}

// The emulator names its account to STS's GetCallerIdentity, so that the
// exporter's account lookup works against it alone.
func TestGetCallerIdentityThroughSDK(t *testing.T) {
	e := cloudcontrol.New()
	srv := start(t, e)
	out, err := sts.NewFromConfig(srv.AWSConfig("eu-west-1")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Account == nil || *out.Account != e.AccountID() {
		t.Fatalf("GetCallerIdentity account = %v, want %s", out.Account, e.AccountID())
	}
}
