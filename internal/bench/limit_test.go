package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// TestAccountRegionLimiter: one bucket per (account, region), the account
// from the signing key; two keys of one account share it, calls that are
// not Cloud Control's are never limited, and through the real SDK a call
// past the bucket is a typed ThrottlingException.
func TestAccountRegionLimiter(t *testing.T) {
	accounts := map[string]string{"AKIDA1": "111111111111", "AKIDA2": "111111111111", "AKIDB": "222222222222"}
	resolve := func(_ context.Context, key string) (string, error) {
		if a, ok := accounts[key]; ok {
			return a, nil
		}
		return "", errors.New("unknown key")
	}
	cases := []struct {
		name, key, region string
		other             bool // an STS/SQS call on the same endpoint
		wantThrottled     bool
	}{
		{name: "account A's first call", key: "AKIDA1", region: "us-east-1"},
		{name: "account A's second, another key of A", key: "AKIDA2", region: "us-east-1"},
		{name: "A's bucket spent", key: "AKIDA1", region: "us-east-1", wantThrottled: true},
		{name: "A's bucket spent for its other key too", key: "AKIDA2", region: "us-east-1", wantThrottled: true},
		{name: "A in another region has its own bucket", key: "AKIDA1", region: "eu-west-1"},
		{name: "B in the same region has its own bucket", key: "AKIDB", region: "us-east-1"},
		{name: "not Cloud Control: never limited", key: "AKIDA1", region: "us-east-1", other: true},
		{name: "an unknown key is not limited (the multi-account emulator refuses it)", key: "AKIDX", region: "us-east-1"},
	}
	if len(cases) < 8 {
		t.Fatalf("%d cases, want at least 8", len(cases))
	}
	emu := cloudcontrol.New()
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		if err := emu.Put(region, "AWS::SQS::Queue", "q", map[string]any{"QueueName": "q"}); err != nil {
			t.Fatal(err)
		}
	}
	reachedOther := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "CloudApiService.") {
			reachedOther++
			w.WriteHeader(http.StatusTeapot)
			return
		}
		emu.ServeHTTP(w, r)
	})
	limiter := NewAccountRegionLimiter(next, 0.001, 2, resolve) // two calls per account-region for the test's lifetime
	srv := httptest.NewServer(limiter)
	defer srv.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.other {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
				req.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.key+"/20260101/"+c.region+"/sqs/aws4_request, SignedHeaders=host, Signature=x")
				for range 5 {
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != http.StatusTeapot {
						t.Fatalf("SQS call: %v %v, want it passed on", resp, err)
					}
					resp.Body.Close()
				}
				return
			}
			cfg := Endpoints{AWSURL: srv.URL, Region: c.region}.AWSConfig()
			cfg.Credentials = credentials.NewStaticCredentialsProvider(c.key, "secret", "")
			client := cc.NewFromConfig(cfg, func(o *cc.Options) { o.RetryMaxAttempts = 1 })
			_, err := client.GetResource(t.Context(), &cc.GetResourceInput{TypeName: aws.String("AWS::SQS::Queue"), Identifier: aws.String("q")})
			var throttled *types.ThrottlingException
			if got := errors.As(err, &throttled); got != c.wantThrottled {
				t.Fatalf("err %v, want throttled %t", err, c.wantThrottled)
			}
			if !c.wantThrottled && err != nil {
				t.Fatalf("err %v", err)
			}
		})
	}
	if reachedOther != 5 {
		t.Errorf("%d SQS calls passed on, want 5", reachedOther)
	}
	if got := limiter.Admitted(); got[AccountRegion("111111111111", "us-east-1")] != 2 || got[AccountRegion("111111111111", "eu-west-1")] != 1 ||
		got[AccountRegion("222222222222", "us-east-1")] != 1 || limiter.Throttled() != 2 {
		t.Errorf("Admitted() = %v, Throttled() = %d; want A/us-east-1 2, A/eu-west-1 1, B/us-east-1 1, 2 throttled", got, limiter.Throttled())
	}
}
