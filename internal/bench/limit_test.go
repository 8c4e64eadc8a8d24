package bench

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cc "github.com/aws/aws-sdk-go-v2/service/cloudcontrol"
	"github.com/aws/aws-sdk-go-v2/service/cloudcontrol/types"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// TestRegionLimiterThrottlesPerRegionThroughTheSDK: past the burst, the
// real SDK sees a typed ThrottlingException, and one region's budget does not
// spend another's.
func TestRegionLimiterThrottlesPerRegionThroughTheSDK(t *testing.T) {
	emu := cloudcontrol.New()
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		if err := emu.Put(region, "AWS::SQS::Queue", "q", map[string]any{"QueueName": "q"}); err != nil {
			t.Fatal(err)
		}
	}
	limiter := NewRegionLimiter(emu, 0.001, 3) // three calls, then nothing for the test's lifetime
	srv := httptest.NewServer(limiter)
	defer srv.Close()
	get := func(region string) error {
		client := cc.NewFromConfig(Endpoints{AWSURL: srv.URL, Region: region}.AWSConfig(), func(o *cc.Options) {
			o.RetryMaxAttempts = 1
		})
		_, err := client.GetResource(t.Context(), &cc.GetResourceInput{TypeName: aws.String("AWS::SQS::Queue"), Identifier: aws.String("q")})
		return err
	}
	for i := range 5 {
		err := get("us-east-1")
		var throttled *types.ThrottlingException
		switch {
		case i < 3 && err != nil:
			t.Fatalf("call %d within the burst failed: %v", i, err)
		case i >= 3 && !errors.As(err, &throttled):
			t.Fatalf("call %d past the burst: %v, want ThrottlingException", i, err)
		}
	}
	if err := get("eu-west-1"); err != nil {
		t.Fatalf("eu-west-1 throttled by us-east-1's calls: %v", err)
	}
	if limiter.Throttled() != 2 {
		t.Errorf("Throttled() = %d, want 2", limiter.Throttled())
	}
	if got := limiter.Admitted(); got["us-east-1"] != 3 || got["eu-west-1"] != 1 {
		t.Errorf("Admitted() = %v", got)
	}
	if c := emu.Counts(cloudcontrol.OpGetResource, "us-east-1"); c.Calls != 3 {
		t.Errorf("the emulator saw %d us-east-1 calls, want the 3 admitted", c.Calls)
	}
}

// FuzzRegionLimiter: the limiter reads the region from any Authorization
// header a client sends; whatever it is, a request is either let through to
// the emulator or answered ThrottlingException, and never panics.
func FuzzRegionLimiter(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/cloudcontrolapi/aws4_request, SignedHeaders=host, Signature=x")
	f.Add("AWS4-HMAC-SHA256 Credential=//////")
	f.Add("")
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++; w.WriteHeader(http.StatusTeapot) })
	limiter := NewRegionLimiter(next, 1000, 1000)
	f.Fuzz(func(t *testing.T, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("Authorization", authorization)
		rec := httptest.NewRecorder()
		before := reached
		limiter.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusTeapot && reached == before+1:
		case rec.Code == http.StatusBadRequest && reached == before && strings.Contains(rec.Body.String(), "ThrottlingException"):
		default:
			t.Fatalf("Authorization %q: status %d, next reached %t, body %s", authorization, rec.Code, reached > before, rec.Body.String())
		}
	})
}
