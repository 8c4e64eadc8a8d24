package port

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// APIError is an error answer from Port.
type APIError struct {
	StatusCode int
	// Code and Message are Port's "error" and "message" fields.
	Code    string
	Message string
	// TraceID is Port's X-Trace-Id, what Port's support asks for.
	TraceID string
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("port %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.TraceID != "" {
		msg += " (trace id " + e.TraceID + ")"
	}
	return msg
}

// IsNotFound reports whether err is Port's 404.
func IsNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound
}

// IsTransient reports whether the operation that failed with err may succeed
// if tried again later: Port's 5xx, 408, 429 once the wait budget is spent,
// a 401 that survived one token refresh (tokens rotate; bad credentials are
// caught at the token route, which is permanent), timeouts and connection
// errors. Anything else — a 4xx that says the request itself is wrong — is
// permanent: retrying the same write cannot help, and the event handler
// dead-letters it.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode >= 500,
			apiErr.StatusCode == http.StatusRequestTimeout,
			apiErr.StatusCode == http.StatusTooManyRequests:
			return true
		case apiErr.StatusCode == http.StatusUnauthorized:
			return apiErr.Path != tokenPath
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up (shutdown); the work was not done and may be retried.
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.Is(err, errTransport)
}

// errTransport marks failures to talk to Port at all (connection refused or
// reset, EOF mid-response), which are worth another try.
var errTransport = errors.New("port: request did not complete")
