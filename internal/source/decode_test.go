package source

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

func FuzzDecodeProperties(f *testing.F) {
	f.Add(`{"a":1,"b":[1.5,"x",null,{"c":123456789012345678901234567890}]}`)
	f.Add(``)
	f.Add(`null`)
	f.Add(`{"a":1} {}`)
	f.Add(`{"n":1e400}`)
	f.Fuzz(func(t *testing.T, doc string) {
		props, err := decodeProperties(doc)
		if err != nil {
			return
		}
		if props == nil {
			t.Fatal("nil properties without error")
		}
		// Whatever was decoded must encode back to JSON for Port and jq.
		if _, err := json.Marshal(props); err != nil {
			t.Errorf("decoded %q does not encode: %v", doc, err)
		}
	})
}

// TestClassifyWrappedErrors covers GeneralServiceException messages that
// carry the underlying service's error, which the emulator reproduces only
// for access denied.
func TestClassifyWrappedErrors(t *testing.T) {
	for _, tc := range []struct {
		code, message string
		reason        Reason
		notFound      bool
		retry         bool
	}{
		{"GeneralServiceException", "AccessDeniedException: User: arn:aws:sts::1:assumed-role/x is not authorized to perform: lambda:GetFunction", ReasonAccessDenied, false, false},
		{"GeneralServiceException", "Rate exceeded (Service: Lambda, Status Code: 429)", ReasonThrottled, false, true},
		{"GeneralServiceException", "ResourceNotFoundException: Function not found: arn:aws:lambda:...", ReasonOther, true, false},
		{"GeneralServiceException", "NoSuchBucket: The specified bucket does not exist", ReasonOther, true, false},
		{"GeneralServiceException", "InternalError", ReasonOther, false, false},
		{"ResourceNotFoundException", "gone", ReasonOther, true, false},
		{"TooManyRequestsException", "slow down", ReasonThrottled, false, true},
		{"ServiceInternalErrorException", "oops", ReasonOther, false, true},
		{"UnrecognizedClientException", "The security token included in the request is invalid", ReasonAccessDenied, false, false},
	} {
		err := &smithy.GenericAPIError{Code: tc.code, Message: tc.message}
		if got := classify(err); got != tc.reason {
			t.Errorf("classify(%s: %s) = %s, want %s", tc.code, tc.message, got, tc.reason)
		}
		if got := isNotFound(err); got != tc.notFound {
			t.Errorf("isNotFound(%s: %s) = %v, want %v", tc.code, tc.message, got, tc.notFound)
		}
		if got := retryable(err); got != tc.retry {
			t.Errorf("retryable(%s: %s) = %v, want %v", tc.code, tc.message, got, tc.retry)
		}
	}
	if IsTransient(errors.New("plain")) {
		t.Error("an unknown plain error must not be transient")
	}
}
