package describe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// awsErrors answers every request with one AWS error in the wire format of
// the service's protocol (EC2 query, AWS query, or JSON for ACM), so the
// SDK parses it as it parses AWS's.
func awsErrors(t *testing.T, status int, code, message string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "CertificateManager."):
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"__type": %q, "message": %q}`, code, message)
		case strings.Contains(r.Host, "ec2") || strings.Contains(readBody(r), "Action=DescribeInstances"):
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>r</RequestID></Response>`, code, message)
		default:
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, message)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func readBody(r *http.Request) string {
	b := make([]byte, 4096)
	n, _ := r.Body.Read(b)
	return string(b[:n])
}

// minErrorCases is the size of the table below when it was written.
const minErrorCases = 16

// Get says "not found" (the controller's proof) only on the service's own
// not-found answer; every other failure is a *source.ShardError whose
// reason the dispatcher classifies (throttling and 5xx transient, refusals
// permanent).
func TestGetNotFoundOnlyOnTheServicesOwnAnswer(t *testing.T) {
	cases := []struct {
		kind, id      string
		status        int
		code, message string
		notFound      bool
		reason        source.Reason
		transient     bool
	}{
		{KindEC2Instance, "i-0123456789abcdef0", 400, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist", true, "", false},
		{KindEC2Instance, "bogus", 400, "InvalidInstanceID.Malformed", "Invalid id: \"bogus\"", false, source.ReasonOther, false},
		{KindEC2Instance, "i-0123456789abcdef0", 403, "UnauthorizedOperation", "You are not authorized to perform this operation.", false, source.ReasonAccessDenied, false},
		{KindEC2Instance, "i-0123456789abcdef0", 503, "RequestLimitExceeded", "Request limit exceeded.", false, source.ReasonThrottled, true},
		{KindEC2Instance, "i-0123456789abcdef0", 500, "InternalError", "An internal error has occurred", false, source.ReasonOther, true},
		{KindLoadBalancer, "web-lb", 400, "LoadBalancerNotFound", "One or more load balancers not found", true, "", false},
		{KindLoadBalancer, "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1", 400, "LoadBalancerNotFound", "not found", true, "", false},
		{KindLoadBalancer, "bad name!", 400, "ValidationError", "The load balancer name 'bad name!' is not valid", false, source.ReasonOther, false},
		{KindLoadBalancer, "web-lb", 400, "Throttling", "Rate exceeded", false, source.ReasonThrottled, true},
		{KindCertificate, "arn:aws:acm:eu-west-1:123456789012:certificate/x", 400, "ResourceNotFoundException", "Certificate not found", true, "", false},
		{KindCertificate, "not-an-arn", 400, "ValidationException", "1 validation error detected", false, source.ReasonInvalidRequest, false},
		{KindCertificate, "arn:aws:acm:eu-west-1:123456789012:certificate/x", 400, "AccessDeniedException", "User is not authorized", false, source.ReasonAccessDenied, false},
		{KindStack, "orders", 400, "ValidationError", "Stack with id orders does not exist", true, "", false},
		{KindStack, "bad name!", 400, "ValidationError", "1 validation error detected: Value 'bad name!' at 'stackName' failed to satisfy constraint", false, source.ReasonOther, false},
		{KindCacheCluster, "sessions", 404, "CacheClusterNotFound", "CacheCluster sessions not found.", true, "", false},
		{KindCacheCluster, "Bad_Id", 400, "InvalidParameterValue", "Invalid cluster id", false, source.ReasonOther, false},
		{KindCacheCluster, "sessions", 403, "AccessDenied", "User is not authorized", false, source.ReasonAccessDenied, false},
	}
	if len(cases) < minErrorCases {
		t.Fatalf("%d cases, want at least %d", len(cases), minErrorCases)
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.code, func(t *testing.T) {
			url := awsErrors(t, tc.status, tc.code, tc.message)
			cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(url),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test", "")}
			r := New(cfg, source.Options{MaxRetries: 1, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond, RequestsPerSecond: -1})
			shard := source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: tc.kind}
			_, err := r.Get(context.Background(), shard, tc.id)
			if err == nil {
				t.Fatal("Get succeeded against an error")
			}
			if got := errors.Is(err, source.ErrNotFound); got != tc.notFound {
				t.Fatalf("errors.Is(ErrNotFound) = %v, want %v: %v", got, tc.notFound, err)
			}
			if tc.notFound {
				if !strings.Contains(err.Error(), tc.code) {
					t.Errorf("%v does not name the AWS code", err)
				}
				return
			}
			var se *source.ShardError
			if !errors.As(err, &se) || se.Reason != tc.reason || se.Shard.Kind != tc.kind {
				t.Fatalf("error %T %v, want a ShardError of %s with reason %s", err, err, tc.kind, tc.reason)
			}
			if got := source.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient = %v, want %v", got, tc.transient)
			}
		})
	}
}

// A listing that fails is a ShardError of the shard (no stale deletion can
// follow), whatever the service; the resources passed before were real.
func TestListFailureIsAShardError(t *testing.T) {
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			url := awsErrors(t, 403, "AccessDenied", "not authorized")
			if kind == KindEC2Instance {
				url = awsErrors(t, 403, "UnauthorizedOperation", "not authorized")
			}
			if kind == KindCertificate {
				url = awsErrors(t, 400, "AccessDeniedException", "not authorized")
			}
			cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(url),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test", "")}
			r := New(cfg, source.Options{MaxRetries: -1, RequestsPerSecond: -1})
			shard := source.Shard{AccountID: "123456789012", Region: "eu-west-1", Kind: kind}
			called := 0
			err := r.List(context.Background(), shard, source.ListOptions{}, func(source.Resource) error { called++; return nil })
			var se *source.ShardError
			if !errors.As(err, &se) || se.Reason != source.ReasonAccessDenied || se.Shard.String() != shard.String() || called != 0 {
				t.Fatalf("List: %T %v (called %d), want a ShardError of %s, AccessDenied", err, err, called, shard)
			}
		})
	}
}
