package accounts

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// expiredCodes are the answers of a call signed with credentials that are
// no longer valid although the cache thought them fresh: revoked sessions,
// a clock skew, a session cut short by a policy.
var expiredCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true,
}

// refreshOnExpiredToken sits between the SDK's retry loop and the signer:
// when an attempt is answered ExpiredToken it invalidates the account's
// credential cache and marks the error retryable, so the retryer's next
// attempt is signed with credentials from a fresh AssumeRole. A listing's
// page is retried in place, so the paginator goes on where it was.
func refreshOnExpiredToken(cache *aws.CredentialsCache) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("port-aws-exporter/refresh-expired-credentials",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				var api smithy.APIError
				if err != nil && errors.As(err, &api) && expiredCodes[api.ErrorCode()] {
					cache.Invalidate()
					return out, md, &expiredError{err: err}
				}
				return out, md, err
			}), "Retry", middleware.After)
	}
}

// expiredError is an ExpiredToken answer after the cache was invalidated:
// retryable (the SDK's standard retryer honours RetryableError), and still
// the API error for errors.As.
type expiredError struct{ err error }

func (e *expiredError) Error() string        { return e.err.Error() + " (credentials refreshed)" }
func (e *expiredError) Unwrap() error        { return e.err }
func (e *expiredError) RetryableError() bool { return true }
