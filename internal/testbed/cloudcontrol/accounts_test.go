package cloudcontrol_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cc "github.com/aws/aws-sdk-go-v2/service/cloudcontrol"
	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

// The multi-account endpoint answers each call from the account of the key
// it was signed with, refuses a key of no account, passes other calls on,
// and expires a key on demand in the middle of a listing.
func TestAccountsAnswerFromTheSigningKey(t *testing.T) {
	keys := map[string]string{"AKIDA": "111111111111", "AKIDB": "222222222222", "AKIDA2": "111111111111"}
	other := 0
	a := cloudcontrol.NewAccounts(func(_ context.Context, key string) (string, error) {
		if id, ok := keys[key]; ok {
			return id, nil
		}
		return "", errors.New("unknown key")
	}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { other++; w.WriteHeader(http.StatusTeapot) }))
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	for _, account := range []string{"111111111111", "222222222222"} {
		for i := range 5 {
			name := fmt.Sprintf("fn-%s-%d", account[:1], i)
			if err := a.Account(account).Put("eu-west-1", lambdaType, name, map[string]any{"FunctionName": name}); err != nil {
				t.Fatal(err)
			}
		}
		a.Account(account).SetPageSize(2)
	}
	client := func(key string) *cc.Client {
		return cc.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")}, func(o *cc.Options) { o.RetryMaxAttempts = 1 })
	}
	ctx := context.Background()
	cases := []struct {
		key, first string // first identifier listed, or the error code
	}{
		{"AKIDA", "fn-1-0"},
		{"AKIDB", "fn-2-0"},
		{"AKIDA2", "fn-1-0"},
		{"AKIDNONE", "UnrecognizedClientException"},
	}
	for _, tc := range cases {
		ids, _, err := listAll(ctx, client(tc.key), &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
		got := ""
		var api smithy.APIError
		switch {
		case errors.As(err, &api):
			got = api.ErrorCode()
		case err != nil:
			t.Fatalf("%s: %v", tc.key, err)
		case len(ids) != 5:
			t.Fatalf("%s: listed %v", tc.key, ids)
		default:
			got = ids[0]
		}
		if got != tc.first {
			t.Errorf("key %s: %s, want %s", tc.key, got, tc.first)
		}
	}
	for _, c := range a.Calls() {
		if keys[c.AccessKeyID] != c.Account && c.AccessKeyID != "AKIDNONE" {
			t.Errorf("call %+v answered from another account than its key's", c)
		}
	}

	// Revoked after one more call of account 1: the second page fails, and
	// that key stays expired while another key of the account is served.
	a.RevokeAfter("111111111111", 1)
	_, pages, err := listAll(ctx, client("AKIDA"), &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ExpiredTokenException" || pages != 1 {
		t.Fatalf("after the revocation: %d pages, %v; want ExpiredTokenException on page 2", pages, err)
	}
	if _, _, err := listAll(ctx, client("AKIDA"), &cc.ListResourcesInput{TypeName: aws.String(lambdaType)}); err == nil {
		t.Error("the revoked key was served again")
	}
	if ids, _, err := listAll(ctx, client("AKIDA2"), &cc.ListResourcesInput{TypeName: aws.String(lambdaType)}); err != nil || len(ids) != 5 {
		t.Errorf("another key of the account: %v, %v", ids, err)
	}
	if a.Expired() != 2 {
		t.Errorf("%d expired answers, want 2", a.Expired())
	}

	// Anything but Cloud Control goes to the other handler.
	resp, err := http.Post(srv.URL+"/", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || other != 1 {
		t.Errorf("an STS-like call: HTTP %d, other handler called %d times", resp.StatusCode, other)
	}
}
