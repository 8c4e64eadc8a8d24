package continuation

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// S3API is the part of the S3 client the store uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// S3 keeps heads and states under one bucket and prefix:
//
//	<prefix>/<account>/<region>/<kind>/head.json
//	<prefix>/<account>/<region>/<kind>/runs/<run id>/<seq>-<random>.json.gz
//
// Heads are written with If-Match on the ETag read (If-None-Match: * for
// the first), the conditional writes S3 makes atomic.
type S3 struct {
	Client S3API
	Bucket string
	Prefix string
}

// maxStateBytes bounds a state read back (decompressed): 1,000,000
// entities of 100-byte identifiers.
const maxStateBytes = 128 << 20

// ParseS3URL reads s3://bucket/prefix.
func ParseS3URL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("continuation store %q: want s3://bucket/prefix", raw)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

func (s *S3) String() string { return "s3://" + path.Join(s.Bucket, s.Prefix) }

func (s *S3) shardPrefix(shard source.Shard) string {
	return path.Join(s.Prefix, shard.AccountID, shard.Region, shard.Kind)
}

// Head implements Store.
func (s *S3) Head(ctx context.Context, shard source.Shard) (Head, string, error) {
	key := path.Join(s.shardPrefix(shard), "head.json")
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		if statusOf(err) == http.StatusNotFound && !isNoSuchBucket(err) {
			return Head{}, "", ErrNoHead
		}
		return Head{}, "", fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer out.Body.Close()
	var h Head
	if err := json.NewDecoder(io.LimitReader(out.Body, 1<<20)).Decode(&h); err != nil {
		return Head{}, "", fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	return h, aws.ToString(out.ETag), nil
}

// PutHead implements Store.
func (s *S3) PutHead(ctx context.Context, shard source.Shard, h Head, ifVersion string) (string, error) {
	key := path.Join(s.shardPrefix(shard), "head.json")
	h.UpdatedAt = time.Now().UTC()
	body, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	in := &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("application/json")}
	if ifVersion != "" {
		in.IfMatch = aws.String(ifVersion)
	}
	out, err := s.Client.PutObject(ctx, in)
	if err != nil {
		switch statusOf(err) {
		case http.StatusPreconditionFailed, http.StatusConflict:
			return "", ErrConflict
		case http.StatusNotFound:
			if ifVersion != "" && !isNoSuchBucket(err) {
				return "", ErrConflict
			}
		}
		return "", fmt.Errorf("write s3://%s/%s: %w", s.Bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// PutState implements Store: the state gzipped, under a key of its own so
// that two deliveries of one segment never overwrite each other's.
func (s *S3) PutState(ctx context.Context, shard source.Shard, runID string, seq int, state []byte) (string, error) {
	key := path.Join(s.shardPrefix(shard), "runs", runID, fmt.Sprintf("%06d-%s.json.gz", seq, rand.Text()[:10]))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(state)
	if err := zw.Close(); err != nil {
		return "", err
	}
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes()),
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip")})
	if err != nil {
		return "", fmt.Errorf("write s3://%s/%s: %w", s.Bucket, key, err)
	}
	return key, nil
}

// GetState implements Store.
func (s *S3) GetState(ctx context.Context, key string) ([]byte, error) {
	if !strings.HasPrefix(key, s.Prefix) {
		return nil, fmt.Errorf("state key %q is outside the store's prefix %q", key, s.Prefix)
	}
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer out.Body.Close()
	zr, err := gzip.NewReader(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("read s3://%s/%s: more than %d bytes", s.Bucket, key, maxStateBytes)
	}
	return b, nil
}

// DeleteRun implements Store.
func (s *S3) DeleteRun(ctx context.Context, shard source.Shard, runID string) error {
	prefix := path.Join(s.shardPrefix(shard), "runs", runID) + "/"
	var token *string
	for {
		out, err := s.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		if len(out.Contents) > 0 {
			ids := make([]types.ObjectIdentifier, 0, len(out.Contents))
			for _, o := range out.Contents {
				ids = append(ids, types.ObjectIdentifier{Key: o.Key})
			}
			if _, err := s.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return fmt.Errorf("delete under s3://%s/%s: %w", s.Bucket, prefix, err)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		token = out.NextContinuationToken
	}
}

func isNoSuchBucket(err error) bool {
	var nsb *types.NoSuchBucket
	var ae smithy.APIError
	return errors.As(err, &nsb) || (errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket")
}

func statusOf(err error) int {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed":
			return http.StatusPreconditionFailed
		case "ConditionalRequestConflict":
			return http.StatusConflict
		case "NoSuchKey", "NotFound", "NoSuchBucket":
			return http.StatusNotFound
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// DeleteState removes one state (a checkpoint replaced by the next).
func (s *S3) DeleteState(ctx context.Context, key string) error {
	_, err := s.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(key)}}, Quiet: aws.Bool(true)}})
	return err
}
