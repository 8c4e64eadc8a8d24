// Package source reads AWS resources through the Cloud Control API.
//
// The unit of work is a Shard: one (account, region, kind). List streams every
// resource of a shard: ListResources page by page (once per ResourceModel for
// child types), then GetResource per resource unless the list properties are
// trusted, with as many calls in flight as the region's pace × the observed
// latency calls for, a budget shared by the shards of the region.
//
// Calls go through one aws-sdk-go-v2 client per region. Retries are the SDK's
// retryer (retry.Standard with Options.MaxRetries+1 attempts, full-jitter
// exponential backoff between BackoffBase and BackoffCap, no retry quota),
// optionally in the SDK's adaptive mode, whose client-side rate limit cuts the
// region's rate on throttling and raises it while calls succeed. Pages come
// from cloudcontrol.NewListResourcesPaginator, checked for repeated tokens.
// Pacing (one token bucket per region, shared by every shard of it), the
// GetResource budget and Options.Observe are one Finalize middleware right
// after the SDK's retry loop, so they apply to every attempt.
//
// Failures that make a shard unreadable come back as *ShardError with a
// Reason, so the controller can report the shard and keep going with the
// others. errors.Is matches ErrNotFound, ErrThrottled, ErrAccessDenied,
// ErrTypeNotFound, ErrUnsupported and ErrInvalidRequest, errors.As still finds
// the smithy.APIError, and IsTransient, IsNotFound and Cause classify for
// retries and metrics. Shard construction (which kinds, regions and resource
// models) is the caller's: it comes from the exporter's config.
package source

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/port-labs/port-aws-exporter/internal/jsonvalue"
)

// Shard is one unit of a full sync: the resources of one kind in one region
// of one account, listed once per ResourceModel (child types) or once without.
type Shard struct {
	AccountID, Region, Kind string
	// ResourceModels are JSON objects passed as ListResources' ResourceModel,
	// e.g. {"ClusterName": "main"} for AWS::EKS::Nodegroup.
	ResourceModels []string
}

// String names the shard as account/region/kind, e.g.
// 123456789012/eu-west-1/AWS::Lambda::Function.
func (s Shard) String() string {
	return s.AccountID + "/" + s.Region + "/" + s.Kind
}

// Resource is one AWS resource as Cloud Control describes it.
type Resource struct {
	AccountID, Region, Kind string
	// Identifier is the type's primary identifier values joined with "|".
	Identifier string
	// Properties is the resource's JSON document decoded to map[string]any,
	// []any, string, bool, nil, and numbers as int (integers that fit),
	// *big.Int (larger integers) or float64, so no digit of an ID or size is lost.
	Properties map[string]any
}

// AccountID returns the account of the credentials in cfg (STS GetCallerIdentity).
func AccountID(ctx context.Context, cfg aws.Config) (string, error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("find the AWS account (sts:GetCallerIdentity): %w", err)
	}
	return aws.ToString(out.Account), nil
}

// decodeProperties decodes a Cloud Control properties document. An empty
// document is an empty object: some list handlers return nothing but the
// identifier. Numbers stay exact (jsonvalue.Number).
func decodeProperties(doc string) (map[string]any, error) {
	if doc == "" {
		return map[string]any{}, nil
	}
	props, err := jsonvalue.DecodeObject([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("decode properties: %w", err)
	}
	if props == nil {
		// The document was JSON null.
		return map[string]any{}, nil
	}
	return props, nil
}

// DecodeProperties is decodeProperties for the benchmarks, which parse
// documents the way the reader does.
func DecodeProperties(doc []byte) (map[string]any, error) { return decodeProperties(string(doc)) }

// logger returns the configured logger or the default one.
func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
