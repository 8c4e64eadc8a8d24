package dispatch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/metrics"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// TestClassifyAndCause: the one reading of the core's typed errors, for a
// message's fate and for the failures metric. A wrapped error keeps its
// type, so AccessDenied is never retried like throttling.
func TestClassifyAndCause(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("get AWS::Lambda::Function \"f\" in eu-west-1: %w", err) }
	cases := []struct {
		name      string
		err       error
		transient bool
		reason    string
		cause     string
	}{
		{"cancelled", wrap(context.Canceled), true, "", "canceled"},
		{"deadline", wrap(context.DeadlineExceeded), true, "", "timeout"},
		{"mapping", wrap(&mapping.Error{Path: "resources[0].port.entity.mappings[0].identifier", Err: errors.New("null")}), false, events.ReasonMappingError, "mapping"},
		{"port 422", wrap(&port.APIError{StatusCode: 422}), false, events.ReasonPortRejected, "port_rejected"},
		{"port 503", wrap(&port.APIError{StatusCode: 503}), true, "", "port_unavailable"},
		{"aws access denied", wrap(&source.ShardError{Reason: source.ReasonAccessDenied, Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}), false, events.ReasonAWSRejected, "access_denied"},
		{"aws throttled", wrap(&source.ShardError{Reason: source.ReasonThrottled, Err: &smithy.GenericAPIError{Code: "ThrottlingException"}}), true, "", "throttled"},
		{"aws network failure is not port's", wrap(&smithy.OperationError{ServiceID: "S3", OperationName: "GetBucketLocation",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}), true, "", "unavailable"},
		{"permanent message error", &events.PermanentError{Reason: events.ReasonBadIdentifier, Err: errors.New("x")}, false, events.ReasonBadIdentifier, "other"},
	}
	if len(cases) < 9 {
		t.Fatal("cases lost")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason, transient := reasonOf(c.err)
			if transient != c.transient || reason != c.reason {
				t.Errorf("reasonOf = %q, %v; want %q, %v", reason, transient, c.reason, c.transient)
			}
			got := classify([]error{c.err})
			if c.transient == errors.Is(got, events.ErrPermanent) {
				t.Errorf("classify = %v: permanent %v, want %v", got, errors.Is(got, events.ErrPermanent), !c.transient)
			}
			if cause := Cause(c.err); cause != c.cause || !slices.Contains(metrics.Causes, cause) {
				t.Errorf("Cause = %q, want %q (one of metrics.Causes)", cause, c.cause)
			}
		})
	}
	// One transient error among permanent ones retries the whole message.
	mixed := classify([]error{wrap(&port.APIError{StatusCode: 422}), wrap(context.DeadlineExceeded)})
	if errors.Is(mixed, events.ErrPermanent) {
		t.Errorf("a permanent and a transient error: %v, want transient", mixed)
	}
}
