package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// ErrNotFound reports that a resource does not exist (any more).
var ErrNotFound = errors.New("resource not found")

// ErrPagination reports a ListResources paginator that does not end: a
// NextToken seen before, or too many empty pages in a row.
var ErrPagination = errors.New("cloud control pagination does not progress")

// Reason says why a shard could not be read.
type Reason string

const (
	// ReasonTypeNotFound: the type does not exist in the region (TypeNotFoundException).
	ReasonTypeNotFound Reason = "TypeNotFound"
	// ReasonUnsupportedAction: the type cannot be listed or read through Cloud Control.
	ReasonUnsupportedAction Reason = "UnsupportedAction"
	// ReasonAccessDenied: the caller may not call Cloud Control, or Cloud
	// Control may not call the service behind the type.
	ReasonAccessDenied Reason = "AccessDenied"
	// ReasonThrottled: still throttled when the retry budget ran out.
	ReasonThrottled Reason = "Throttled"
	// ReasonInvalidRequest: the request was refused as malformed, e.g. a child
	// type listed without the ResourceModel naming its parent, or a bad NextToken.
	ReasonInvalidRequest Reason = "InvalidRequest"
	// ReasonOther: anything else (server errors, network, broken pagination).
	ReasonOther Reason = "Other"
)

// ShardError is a failure to read one shard (or, from Get, one resource).
// The controller reports it per shard and keeps going with the others.
type ShardError struct {
	Shard  Shard
	Reason Reason
	Err    error
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("read %s: %s: %v", e.Shard, e.Reason, e.Err)
}

func (e *ShardError) Unwrap() error { return e.Err }

// Is matches the sentinel of the error's Reason, so callers can write
// errors.Is(err, source.ErrAccessDenied) and still errors.As the
// smithy.APIError underneath.
func (e *ShardError) Is(target error) bool {
	return target != nil && reasonErrors[e.Reason] == target
}

// Sentinels matched by errors.Is on a *ShardError of that Reason.
var (
	ErrThrottled      = errors.New("throttled past the retry budget")
	ErrAccessDenied   = errors.New("access denied")
	ErrTypeNotFound   = errors.New("resource type not found")
	ErrUnsupported    = errors.New("action not supported for the resource type")
	ErrInvalidRequest = errors.New("request refused as invalid")
)

var reasonErrors = map[Reason]error{
	ReasonThrottled:         ErrThrottled,
	ReasonAccessDenied:      ErrAccessDenied,
	ReasonTypeNotFound:      ErrTypeNotFound,
	ReasonUnsupportedAction: ErrUnsupported,
	ReasonInvalidRequest:    ErrInvalidRequest,
}

// notFoundError keeps the AWS error of a not-found answer while matching ErrNotFound.
type notFoundError struct{ err error }

func (e *notFoundError) Error() string   { return e.err.Error() }
func (e *notFoundError) Unwrap() []error { return []error{ErrNotFound, e.err} }

// transientCodes are error codes worth retrying besides the SDK's throttle codes.
var transientCodes = map[string]bool{
	"ServiceInternalErrorException":   true,
	"HandlerInternalFailureException": true,
	"NetworkFailureException":         true,
	"InternalFailure":                 true,
	"ServiceUnavailable":              true,
	"RequestTimeout":                  true,
	"RequestTimeoutException":         true,
}

// classify names the reason of an AWS error.
func classify(err error) Reason {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return ReasonOther
	}
	code := api.ErrorCode()
	switch {
	case code == "TypeNotFoundException":
		return ReasonTypeNotFound
	case code == "UnsupportedActionException":
		return ReasonUnsupportedAction
	case code == "AccessDeniedException" || code == "AccessDenied" || code == "UnauthorizedOperation" ||
		code == "InvalidCredentialsException" || code == "UnrecognizedClientException":
		return ReasonAccessDenied
	case isThrottleCode(code):
		return ReasonThrottled
	case code == "InvalidRequestException" || code == "ValidationException":
		return ReasonInvalidRequest
	case code == "GeneralServiceException":
		// The underlying service's error is only in the message, e.g.
		// "AccessDeniedException: User ... is not authorized to perform ...".
		msg := api.ErrorMessage()
		switch {
		case containsAny(msg, "AccessDenied", "not authorized", "UnauthorizedOperation"):
			return ReasonAccessDenied
		case containsAny(msg, "Throttl", "Rate exceeded", "TooManyRequests"):
			return ReasonThrottled
		}
	}
	return ReasonOther
}

func isThrottleCode(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// isNotFound reports a resource that is gone, including a not-found from the
// underlying service wrapped in GeneralServiceException.
func isNotFound(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "ResourceNotFoundException":
		return true
	case "GeneralServiceException":
		return containsAny(api.ErrorMessage(), "NotFound", "not found", "does not exist", "NoSuch")
	}
	return false
}

// retryable reports whether a call that failed with err may succeed if
// repeated: the SDK's own judgement (throttle codes, 5xx, connection errors,
// timeouts) plus Cloud Control's transient codes and throttling reported by the
// service behind a type inside GeneralServiceException.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retry.IsErrorRetryables(retryables).IsErrorRetryable(err) == aws.TrueTernary
}

// IsTransient reports whether the operation that failed with err may succeed
// later: throttling past the retry budget, AWS 5xx answers, network failures,
// and a context that ended (the process is stopping or the deadline was
// short), so an event should go back to its queue. Access denied, type not
// found, unsupported action, invalid requests and not found are permanent.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrNotFound) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *ShardError
	if errors.As(err, &se) {
		switch se.Reason {
		case ReasonThrottled:
			return true
		case ReasonTypeNotFound, ReasonUnsupportedAction, ReasonAccessDenied, ReasonInvalidRequest:
			return false
		}
	}
	return retryable(err)
}

// IsNotFound reports a resource that does not exist (any more): errors.Is(err, ErrNotFound).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Causes returned by Cause: a short, bounded set for metric labels.
const (
	CauseThrottled    = "throttled"
	CauseAccessDenied = "access_denied"
	CauseNotFound     = "not_found"
	CauseTypeNotFound = "type_not_found"
	CauseUnsupported  = "unsupported"
	CauseValidation   = "validation"
	CauseTimeout      = "timeout"
	CauseCanceled     = "canceled"
	CauseOther        = "other"
)

// Cause names what err is, for metrics and logs: one of the Cause*
// constants, or "" for nil. A context that ended is "canceled" or
// "timeout" (also for an SDK or network timeout), checked before the AWS
// error a cancelled call may also carry.
func Cause(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return CauseNotFound
	case errors.Is(err, context.Canceled):
		return CauseCanceled
	case errors.Is(err, context.DeadlineExceeded),
		retry.IsErrorTimeouts(retry.DefaultTimeouts).IsErrorTimeout(err) == aws.TrueTernary:
		return CauseTimeout
	}
	reason := classify(err)
	if se := (*ShardError)(nil); errors.As(err, &se) {
		reason = se.Reason
	}
	switch reason {
	case ReasonThrottled:
		return CauseThrottled
	case ReasonAccessDenied:
		return CauseAccessDenied
	case ReasonTypeNotFound:
		return CauseTypeNotFound
	case ReasonUnsupportedAction:
		return CauseUnsupported
	case ReasonInvalidRequest:
		return CauseValidation
	}
	if isNotFound(err) {
		return CauseNotFound
	}
	return CauseOther
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// NotFound marks err, an answer in which AWS said definitely that a
// resource does not exist, so that errors.Is(err, ErrNotFound) holds while
// errors.As still finds the AWS error. Readers other than Cloud Control
// call it only for their service's own not-found codes: the controller
// deletes on that word.
func NotFound(err error) error { return &notFoundError{err: err} }

// NewShardError wraps a failure to read shard (or one of its resources),
// with the Reason read from the AWS error as for Cloud Control's (throttled,
// access denied, invalid request, other).
func NewShardError(shard Shard, err error) *ShardError {
	return &ShardError{Shard: shard, Reason: classify(err), Err: err}
}
