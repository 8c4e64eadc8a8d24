package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// classify turns a scope's errors into a message's fate: nil when there are
// none; transient (redeliver) when any error may pass with time, since a
// retry redoes every write anyway; else permanent with the reason of the
// first error (dead-letter). The errors keep their types through the
// controller, so this is the one place that reads them.
func classify(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	var first string
	for _, err := range errs {
		reason, transient := reasonOf(err)
		if transient {
			return fmt.Errorf("%w (and %d more error(s))", err, len(errs)-1)
		}
		if first == "" {
			first = reason
		}
	}
	return &events.PermanentError{Reason: first, Err: errors.Join(errs...)}
}

// reasonOf classifies one error: its dead-letter reason, or transient.
func reasonOf(err error) (reason string, transient bool) {
	var mapErr *mapping.Error
	var apiErr *port.APIError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "", true
	case errors.Is(err, errNoWriteResult):
		return "", true
	case errors.As(err, &mapErr):
		return events.ReasonMappingError, false
	case errors.As(err, &apiErr):
		if port.IsTransient(err) {
			return "", true
		}
		return events.ReasonPortRejected, false
	case port.IsTransient(err):
		return "", true
	case source.IsTransient(err):
		return "", true
	case errors.Is(err, source.ErrNotFound):
		// A proof listing whose shard is gone (a parent deleted): nothing to
		// prove against now; the next message or sync will see.
		return "", true
	}
	var earlier *controller.EarlierSegmentError
	if errors.As(err, &earlier) {
		// The run's earlier segments went on past these errors, which
		// retrying would not change; the run's last message takes their fate.
		return earlier.Problems[0].Reason, false
	}
	var pe *events.PermanentError
	if errors.As(err, &pe) {
		return pe.Reason, false
	}
	// Everything else came from AWS refusing the call (access denied, a bad
	// identifier, a type it does not know): retrying does not change that.
	return events.ReasonAWSRejected, false
}

// Cause is a short, bounded label for what an error was (metrics.Causes):
// the same reading of the error types that classify makes, for counting.
func Cause(err error) string {
	var mapErr *mapping.Error
	var apiErr *port.APIError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &mapErr):
		return "mapping"
	case errors.As(err, &apiErr):
		if port.IsTransient(err) {
			return "port_unavailable"
		}
		return "port_rejected"
	case isAWSCall(err):
		// A network failure inside an AWS SDK call is AWS's, not Port's:
		// read it as source errors are, below.
	case port.IsTransient(err) && !source.IsTransient(err):
		return "port_unavailable"
	}
	switch c := source.Cause(err); c {
	case source.CauseThrottled, source.CauseAccessDenied, source.CauseNotFound, source.CauseTypeNotFound,
		source.CauseUnsupported, source.CauseValidation, source.CauseTimeout, source.CauseCanceled:
		return c
	case source.CauseOther:
		if source.IsTransient(err) {
			return "unavailable"
		}
	}
	return "other"
}

// isAWSCall reports whether err came out of an AWS SDK operation.
func isAWSCall(err error) bool {
	var opErr *smithy.OperationError
	return errors.As(err, &opErr)
}
