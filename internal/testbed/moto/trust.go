package moto

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AccountOf asks moto which account an access key belongs to
// (GetCallerIdentity signed with it): for the keys moto's AssumeRole
// returned, the account of the role assumed. moto reads the access key
// from the signature's credential scope and checks no signature, so the
// secret does not matter.
func (s *Server) AccountOf(ctx context.Context, accessKeyID string) (string, error) {
	cfg := s.AWSConfig(ctx, "us-east-1")
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKeyID, "unchecked", "")
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("moto GetCallerIdentity for %s: %w", accessKeyID, err)
	}
	return aws.ToString(out.Account), nil
}

// Trust stands in front of moto and enforces what moto does not: the trust
// policy of each role. moto's AssumeRole grants any role to anyone (its
// documentation says so); Trust answers AccessDenied, as STS does, for a
// role whose policy refuses the caller: a broken trust, or an external ID
// other than the one the policy's sts:ExternalId condition names. Every
// other call goes to moto unchanged. Each AssumeRole is recorded.
type Trust struct {
	proxy *httputil.ReverseProxy

	mu    sync.Mutex
	roles map[string]RoleTrust
	calls []AssumeRoleCall
}

// RoleTrust is what a role's trust policy allows.
type RoleTrust struct {
	// ExternalID, when set, must be the caller's (sts:ExternalId condition).
	ExternalID string
	// Broken refuses every caller (the policy does not name the exporter's role).
	Broken bool
}

// AssumeRoleCall is one AssumeRole Trust saw.
type AssumeRoleCall struct {
	RoleARN, ExternalID, SessionName string
	// DurationSeconds is the session length asked ("" when not sent).
	DurationSeconds string
	Denied          bool
}

// NewTrust returns the gate in front of s.
func (s *Server) NewTrust() *Trust {
	target, _ := url.Parse(s.URL)
	return &Trust{proxy: httputil.NewSingleHostReverseProxy(target), roles: map[string]RoleTrust{}}
}

// SetRole sets a role's trust; roles never set trust anyone (moto's behaviour).
func (t *Trust) SetRole(roleARN string, rt RoleTrust) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.roles[roleARN] = rt
}

// Calls are the AssumeRole calls so far.
func (t *Trust) Calls() []AssumeRoleCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]AssumeRoleCall(nil), t.calls...)
}

type stsErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (t *Trust) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRole" {
			call := AssumeRoleCall{RoleARN: form.Get("RoleArn"), ExternalID: form.Get("ExternalId"), SessionName: form.Get("RoleSessionName"),
				DurationSeconds: form.Get("DurationSeconds")}
			t.mu.Lock()
			rt, known := t.roles[call.RoleARN]
			call.Denied = known && (rt.Broken || (rt.ExternalID != "" && rt.ExternalID != call.ExternalID))
			t.calls = append(t.calls, call)
			t.mu.Unlock()
			if call.Denied {
				var out stsErrorResponse
				out.Xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"
				out.Error.Type, out.Error.Code = "Sender", "AccessDenied"
				out.Error.Message = "User: arn:aws:sts::" + AccountID + ":assumed-role/exporter is not authorized to perform: sts:AssumeRole on resource: " + call.RoleARN
				out.RequestID = "trust-gate"
				data, _ := xml.Marshal(out)
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write(data)
				return
			}
		}
	}
	t.proxy.ServeHTTP(w, r)
}
