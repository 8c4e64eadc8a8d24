package accountinfo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// timestampPattern is str() of a UTC datetime in Python.
var timestampPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)

func listAll(t *testing.T, r source.Reader, shard source.Shard) []source.Resource {
	t.Helper()
	var out []source.Resource
	if err := r.List(t.Context(), shard, source.ListOptions{}, func(res source.Resource) error {
		out = append(out, res)
		return nil
	}); err != nil {
		t.Fatalf("list %s: %v", shard, err)
	}
	return out
}

// The organization's accounts, read from moto's Organizations through the
// real SDK, come out as Ocean's documents; DescribeAccount reads one, and an
// unknown account is a definite not-found.
func TestOrganizationsAgainstMoto(t *testing.T) {
	m := moto.Start(t)
	ctx := t.Context()
	cfg := m.AWSConfig(ctx, "us-east-1")
	shard := source.Shard{AccountID: moto.AccountID, Region: "us-east-1", Kind: KindOrganizationsAccount}
	reader := NewOrganizations(cfg, source.Options{})

	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dev", "prod"} {
		if _, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")}); err != nil {
			t.Fatal(err)
		}
	}
	got := listAll(t, reader, shard)
	if len(got) != 3 {
		t.Fatalf("listed %d accounts, want 3 (the management account and two created)", len(got))
	}
	var names []string
	for _, r := range got {
		doc := r.Properties
		names = append(names, doc["Name"].(string))
		if r.Identifier != doc["Id"] || !regexp.MustCompile(`^\d{12}$`).MatchString(r.Identifier) {
			t.Errorf("identifier %q, document Id %v", r.Identifier, doc["Id"])
		}
		if r.Kind != KindOrganizationsAccount || r.Region != "us-east-1" || r.AccountID != moto.AccountID {
			t.Errorf("resource %+v does not carry its shard", r)
		}
		for _, key := range []string{"Arn", "Email", "Status", "JoinedMethod"} {
			if s, _ := doc[key].(string); s == "" {
				t.Errorf("account %s: %s is %v, want a string", r.Identifier, key, doc[key])
			}
		}
		if ts, _ := doc["JoinedTimestamp"].(string); !timestampPattern.MatchString(ts) {
			t.Errorf("account %s: JoinedTimestamp %q is not Python's str() of a UTC datetime", r.Identifier, doc["JoinedTimestamp"])
		}
		if doc["Status"] != "ACTIVE" {
			t.Errorf("account %s: status %v, want ACTIVE", r.Identifier, doc["Status"])
		}
	}
	slices.Sort(names)
	if !slices.Contains(names, "dev") || !slices.Contains(names, "prod") {
		t.Errorf("names %v, want dev and prod among them", names)
	}

	one, err := reader.Get(ctx, shard, got[1].Identifier)
	if err != nil || one.Properties["Email"] != got[1].Properties["Email"] || one.Kind != KindOrganizationsAccount {
		t.Fatalf("get %s: %+v, %v", got[1].Identifier, one, err)
	}
	if _, err := reader.Get(ctx, shard, "111111111111"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("get of an unknown account: %v, want not found", err)
	}

	// Account info: the account read, named by Organizations when it may.
	info := listAll(t, NewAccountInfo(cfg, source.Options{}), source.Shard{AccountID: moto.AccountID, Region: "us-east-1", Kind: KindAccountInfo})
	if len(info) != 1 || info[0].Properties["Type"] != KindAccountInfo {
		t.Fatalf("account info: %+v", info)
	}
	props := info[0].Properties["Properties"].(map[string]any)
	if props["Id"] != moto.AccountID || props["Name"] == "" || props["Name"] == "Account "+moto.AccountID {
		t.Errorf("account info properties %v: want the id and the name Organizations gives", props)
	}
}

// Without an organization, account info names the account as Ocean does;
// Get of another account is a definite not-found (one resource per reader).
func TestAccountInfoOutsideAnOrganization(t *testing.T) {
	m := moto.Start(t)
	cfg := m.AWSConfig(t.Context(), "eu-west-1")
	shard := source.Shard{AccountID: moto.AccountID, Region: "eu-west-1", Kind: KindAccountInfo}
	reader := NewAccountInfo(cfg, source.Options{})
	got := listAll(t, reader, shard)
	want := map[string]any{"Id": moto.AccountID, "Name": "Account " + moto.AccountID}
	if len(got) != 1 || got[0].Identifier != moto.AccountID {
		t.Fatalf("account info: %+v", got)
	}
	props := got[0].Properties["Properties"].(map[string]any)
	if props["Id"] != want["Id"] || props["Name"] != want["Name"] {
		t.Errorf("properties %v, want %v", props, want)
	}
	if _, err := reader.Get(t.Context(), shard, "210987654321"); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("get of another account: %v, want not found", err)
	}
	if r, err := reader.Get(t.Context(), shard, moto.AccountID); err != nil || r.Identifier != moto.AccountID {
		t.Errorf("get of the account itself: %+v, %v", r, err)
	}
}

// Errors keep their meaning: AccessDenied says who may list accounts and is
// no proof of anything; throttling stays transient.
func TestErrorClassification(t *testing.T) {
	shard := source.Shard{AccountID: "123456789012", Region: "us-east-1", Kind: KindOrganizationsAccount}
	cases := []struct {
		code      string
		reason    source.Reason
		transient bool
	}{
		{"AccessDeniedException", source.ReasonAccessDenied, false},
		{"TooManyRequestsException", source.ReasonThrottled, true},
		{"InvalidInputException", source.ReasonInvalidRequest, false},
		{"ServiceException", source.ReasonOther, false},
	}
	for _, c := range cases {
		err := shardError(context.Background(), shard, &smithy.GenericAPIError{Code: c.code, Message: "m"})
		var se *source.ShardError
		if !errors.As(err, &se) || se.Reason != c.reason || errors.Is(err, source.ErrNotFound) {
			t.Errorf("%s: %v, want reason %s and not a not-found", c.code, err, c.reason)
			continue
		}
		if source.IsTransient(err) != c.transient {
			t.Errorf("%s: transient %v, want %v", c.code, source.IsTransient(err), c.transient)
		}
		if c.code == "AccessDeniedException" && !regexp.MustCompile(`management account.*delegated administrator`).MatchString(err.Error()) {
			t.Errorf("access denied does not say who may list accounts: %v", err)
		}
	}
	if len(cases) < 4 {
		t.Fatal("too few cases")
	}
}

func TestPythonDatetime(t *testing.T) {
	cases := map[time.Time]string{
		time.Date(2023, 6, 15, 9, 0, 0, 0, time.UTC):                           "2023-06-15 09:00:00+00:00",
		time.Date(2023, 6, 15, 9, 0, 0, 123456789, time.UTC):                   "2023-06-15 09:00:00.123456+00:00",
		time.Date(2023, 6, 15, 11, 0, 0, 5000, time.FixedZone("CEST", 2*3600)): "2023-06-15 09:00:00.000005+00:00",
	}
	for in, want := range cases {
		if got := pythonDatetime(in); got != want {
			t.Errorf("pythonDatetime(%v) = %q, want %q", in, got, want)
		}
	}
}

// organizationsNotInUse answers every Organizations call as AWS does for an
// account that belongs to no organization (AWS JSON 1.1; moto answers an
// empty list instead, so this answer is served here).
func organizationsNotInUse(t *testing.T) aws.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AWSOrganizationsNotInUseException","Message":"Your account is not a member of an organization."}`))
	}))
	t.Cleanup(srv.Close)
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test", "")}
}

// An account in no organization lists itself, as Ocean does; Get finds it
// and no other account (a definite answer).
func TestOrganizationsNotInUse(t *testing.T) {
	reader := NewOrganizations(organizationsNotInUse(t), source.Options{MaxRetries: -1})
	shard := source.Shard{AccountID: "123456789012", Region: "us-east-1", Kind: KindOrganizationsAccount}
	alone := listAll(t, reader, shard)
	if len(alone) != 1 || alone[0].Identifier != shard.AccountID || alone[0].Properties["Name"] != "No name found" || alone[0].Properties["Id"] != shard.AccountID {
		t.Fatalf("outside an organization: %+v, want the account itself named \"No name found\"", alone)
	}
	if r, err := reader.Get(t.Context(), shard, shard.AccountID); err != nil || r.Properties["Name"] != "No name found" {
		t.Errorf("get of the account itself: %+v, %v", r, err)
	}
	if _, err := reader.Get(t.Context(), shard, "210987654321"); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("get of another account: %v, want not found", err)
	}
	info := listAll(t, NewAccountInfo(organizationsNotInUse(t), source.Options{MaxRetries: -1}), source.Shard{AccountID: shard.AccountID, Region: "us-east-1", Kind: KindAccountInfo})
	if props := info[0].Properties["Properties"].(map[string]any); props["Name"] != "Account "+shard.AccountID {
		t.Errorf("account info outside an organization: %v", props)
	}
}
