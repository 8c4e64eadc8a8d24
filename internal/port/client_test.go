package port

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const serviceBlueprint = `{"identifier":"service","title":"Service","schema":{"properties":{
	"arn":{"type":"string"},"count":{"type":"number"},"blob":{"type":"string"}}},
	"relations":{"cluster":{"target":"cluster","many":false,"required":false}}}`

const clusterBlueprint = `{"identifier":"cluster","title":"Cluster","schema":{"properties":{"arn":{"type":"string"}}}}`

// env is a Port double with the test blueprints and a client pointed at it
// with fast retries and no pacing (tests that need pacing set it).
type env struct {
	srv    *portapi.Server
	client *Client
	logs   *bytes.Buffer
}

func newEnv(t testing.TB, opts portapi.Options, tweak func(*Config)) *env {
	t.Helper()
	srv := portapi.New(opts)
	t.Cleanup(srv.Close)
	for _, bp := range []string{clusterBlueprint, serviceBlueprint} {
		if err := srv.AddBlueprint([]byte(bp)); err != nil {
			t.Fatal(err)
		}
	}
	logs := &bytes.Buffer{}
	cfg := Config{
		BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond,
		RequestsPerSecond: -1, UserAgent: "port-test/1",
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, client: c, logs: logs}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func services(n int, prefix string) []entity.Entity {
	out := make([]entity.Entity, n)
	for i := range out {
		out[i] = entity.Entity{Blueprint: "service", Identifier: fmt.Sprintf("%s-%05d", prefix, i), Title: "svc",
			Properties: map[string]any{"arn": fmt.Sprintf("arn:aws:svc:%d", i), "count": float64(i)}}
	}
	return out
}

func requireOK(t testing.TB, results []Result, n int) {
	t.Helper()
	if len(results) != n {
		t.Fatalf("%d results, want %d", len(results), n)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("result %d (%s): %v", i, r.Ref, r.Err)
		}
	}
}

func TestTokenCachedThenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, portapi.Options{TokenTTL: time.Second}, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.SearchEntities(ctx, "service", Query{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Count(portapi.RouteToken, 200); n != 1 {
		t.Fatalf("%d tokens for 3 requests, want 1", n)
	}
	// Past 90% of the token's life the client replaces it before Port refuses it.
	time.Sleep(950 * time.Millisecond)
	if _, err := e.client.SearchEntities(ctx, "service", Query{}); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count(portapi.RouteToken, 200); n != 2 {
		t.Errorf("%d tokens, want 2 (refreshed before expiry)", n)
	}
	if n := e.srv.Count("", 401); n != 0 {
		t.Errorf("%d 401s, want none", n)
	}
}

func TestUnauthorizedRefreshesOnceAndSingleFlight(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	if _, err := e.client.SearchEntities(ctx, "service", Query{}); err != nil {
		t.Fatal(err)
	}
	e.srv.ExpireTokens()
	// 50 goroutines all hit 401 with the same revoked token: one new token.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, err := e.client.SearchEntities(ctx, "service", Query{})
				errs <- err
				return
			}
			errs <- e.client.WithUserAgent(fmt.Sprintf("ua-%d", i)).UpsertEntity(ctx, "service", services(1, fmt.Sprint("g", i))[0], UpsertOptions{}).Err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Count(portapi.RouteToken, 200); n != 2 {
		t.Errorf("%d tokens fetched, want 2 (one at start, one after the revocation)", n)
	}
	if n := e.srv.Count("", 401); n < 1 || n > 50 {
		t.Errorf("%d 401s, want 1..50 (each request retried at most once)", n)
	}
}

func TestBadCredentialsArePermanentAndSecretNeverShows(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-leak"
	e := newEnv(t, portapi.Options{}, func(c *Config) { c.ClientSecret = secret })
	_, err := e.client.SearchEntities(context.Background(), "service", Query{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.TraceID == "" {
		t.Fatalf("want a 401 APIError with a trace id, got %v", err)
	}
	if IsTransient(err) {
		t.Errorf("bad credentials reported as transient: %v", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(e.logs.String(), secret) {
		t.Errorf("the secret leaked into the error or logs")
	}
	if !strings.Contains(err.Error(), apiErr.TraceID) {
		t.Errorf("error %q does not carry the trace id", err)
	}
}

func TestBulkUpsertSplitsByTwentyAndReportsCreated(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	ents := services(45, "svc")
	res := e.client.UpsertEntities(ctx, "service", ents, UpsertOptions{})
	requireOK(t, res, 45)
	for i, r := range res {
		if !r.Created || r.Ref.Identifier != ents[i].Identifier || r.Ref.Blueprint != "service" {
			t.Fatalf("result %d: %+v, want created %s", i, r, ents[i].Identifier)
		}
	}
	if n := e.srv.Count(portapi.RouteBulkUpsert, 200); n != 3 {
		t.Errorf("%d bulk requests for 45 entities, want 3", n)
	}
	stored := e.srv.Entities("service")
	if len(stored) != 45 || stored[7].Properties["count"] != 7.0 || stored[7].Datasource != "port-test/1" {
		t.Fatalf("stored %d entities; #7 = %+v", len(stored), stored[7])
	}
	for _, r := range e.client.UpsertEntities(ctx, "service", ents[:5], UpsertOptions{}) {
		if r.Err != nil || r.Created {
			t.Errorf("second upsert of %s: %+v, want updated", r.Ref, r)
		}
	}
}

func TestBulkUpsertSplitsByOneMebibyte(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ents := services(30, "big")
	for i := range ents {
		ents[i].Properties["blob"] = strings.Repeat("x", 100_000)
	}
	requireOK(t, e.client.UpsertEntities(context.Background(), "service", ents, UpsertOptions{}), 30)
	// About 100 kB each: ten fit in 1 MiB, eleven do not.
	if n := e.srv.Count(portapi.RouteBulkUpsert, 200); n != 3 {
		t.Errorf("%d bulk requests, want 3", n)
	}
	if n := e.srv.Count("", 413); n != 0 {
		t.Errorf("%d requests over Port's limit", n)
	}
	if len(e.srv.Entities("service")) != 30 {
		t.Errorf("not every entity stored")
	}
}

func TestTooLargeBulkFallsBackToSingleUpserts(t *testing.T) {
	// Port's limit lower than the client's: the bulk gets 413.
	e := newEnv(t, portapi.Options{MaxBodyBytes: 64 << 10}, nil)
	ents := services(10, "fb")
	for i := range ents {
		ents[i].Properties["blob"] = strings.Repeat("y", 10_000)
	}
	requireOK(t, e.client.UpsertEntities(context.Background(), "service", ents, UpsertOptions{}), 10)
	if n := e.srv.Count(portapi.RouteBulkUpsert, 413); n != 1 {
		t.Errorf("%d bulk 413s, want 1", n)
	}
	if n := e.srv.Count(portapi.RouteUpsert, 201); n != 10 {
		t.Errorf("%d single upserts, want 10", n)
	}
	if len(e.srv.Entities("service")) != 10 {
		t.Errorf("not every entity stored after the fallback")
	}
}

func TestPartialFailureByIndexAndIdentifierRejection(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ents := services(6, "p")
	ents[1].Properties["count"] = "three"                      // 422 from Port, index 1 of the batch
	ents[2].Identifier = "arn:aws:ecs:svc|cluster"             // never sent
	ents[4].Relations = map[string]any{"cluster": "no-such-c"} // 404 relation target
	res := e.client.UpsertEntities(context.Background(), "service", ents, UpsertOptions{})
	if len(res) != 6 {
		t.Fatalf("%d results", len(res))
	}
	for _, i := range []int{0, 3, 5} {
		if res[i].Err != nil || !res[i].Created {
			t.Errorf("result %d: %+v, want created", i, res[i])
		}
	}
	var apiErr *APIError
	if !errors.As(res[1].Err, &apiErr) || apiErr.StatusCode != 422 || IsTransient(res[1].Err) || apiErr.TraceID == "" {
		t.Errorf("result 1: %v, want a permanent 422 with trace id", res[1].Err)
	}
	if !errors.Is(res[2].Err, ErrNotSent) || !strings.Contains(res[2].Err.Error(), "arn:aws:ecs:svc|cluster") || res[2].Ref.Identifier != ents[2].Identifier {
		t.Errorf("result 2: %v, want ErrNotSent naming the identifier", res[2].Err)
	}
	if !IsNotFound(res[4].Err) {
		t.Errorf("result 4: %v, want not found", res[4].Err)
	}
	if n := e.srv.Count(portapi.RouteBulkUpsert, 207); n != 1 {
		t.Errorf("%d bulk 207s, want 1", n)
	}
	// With create_missing_related_entities the relation target is created.
	if r := e.client.UpsertEntity(context.Background(), "service", ents[4], UpsertOptions{CreateMissingRelatedEntities: true}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if _, ok := e.srv.Entity("cluster", "no-such-c"); !ok {
		t.Errorf("relation target not created")
	}
}

func TestRateLimitHonoured(t *testing.T) {
	// Three requests per 2s window, five bulk requests to send: the fourth is
	// refused unless three requests took two seconds, and the client has to
	// wait for the next window.
	cases := []struct {
		name string
		rl   portapi.RateLimit
	}{
		{"Retry-After", portapi.RateLimit{Limit: 3, Period: 2 * time.Second}},
		{"x-ratelimit-reset as seconds", portapi.RateLimit{Limit: 3, Period: 2 * time.Second, OmitRetryAfter: true}},
		{"x-ratelimit-reset as epoch", portapi.RateLimit{Limit: 3, Period: 2 * time.Second, OmitRetryAfter: true, ResetAsEpoch: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, portapi.Options{RateLimit: tc.rl}, func(c *Config) { c.Concurrency = 1 })
			start := time.Now()
			requireOK(t, e.client.UpsertEntities(context.Background(), "service", services(100, "rl"), UpsertOptions{}), 100)
			if n := e.srv.Count(portapi.RouteBulkUpsert, 429); n == 0 {
				t.Errorf("no 429 seen; the test did not exercise the limit")
			}
			if n := len(e.srv.Entities("service")); n != 100 {
				t.Errorf("%d entities stored, want 100: a 429 lost writes", n)
			}
			if d := time.Since(start); d < time.Second {
				t.Errorf("done in %s: the client did not wait for the next window", d)
			}
		})
	}
}

func TestRateLimitWaitIsCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, portapi.Options{RateLimit: portapi.RateLimit{Limit: 1, Period: time.Hour}},
		func(c *Config) { c.MaxRateLimitWait = 100 * time.Millisecond })
	ctx := context.Background()
	if r := e.client.UpsertEntity(ctx, "service", services(1, "a")[0], UpsertOptions{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	start := time.Now()
	r := e.client.UpsertEntity(ctx, "service", services(1, "b")[0], UpsertOptions{})
	var apiErr *APIError
	if !errors.As(r.Err, &apiErr) || apiErr.StatusCode != 429 || !IsTransient(r.Err) {
		t.Fatalf("want a transient 429 once the wait cap is reached, got %v", r.Err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, cap was 100ms", d)
	}
}

func TestServerErrorsRetriedWithinBudget(t *testing.T) {
	e := newEnv(t, portapi.Options{}, func(c *Config) { c.Retries = 2 })
	ctx := context.Background()
	e.srv.Fail(portapi.Fault{Status: 503, Requests: 2})
	requireOK(t, e.client.UpsertEntities(ctx, "service", services(3, "r"), UpsertOptions{}), 3)
	if n := e.srv.Count("", 503); n != 2 {
		t.Errorf("%d 503s, want 2", n)
	}
	e.srv.Fail(portapi.Fault{Status: 500, Requests: 3, Route: portapi.RouteBulkUpsert})
	res := e.client.UpsertEntities(ctx, "service", services(3, "s"), UpsertOptions{})
	var apiErr *APIError
	if !errors.As(res[0].Err, &apiErr) || apiErr.StatusCode != 500 || !IsTransient(res[0].Err) || apiErr.TraceID == "" {
		t.Fatalf("past the budget: %v, want a transient 500 with trace id", res[0].Err)
	}
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Errorf("retries not logged")
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, portapi.Options{}, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond; c.Retries = 1 })
	ctx := context.Background()
	if _, err := e.client.SearchEntities(ctx, "service", Query{}); err != nil {
		t.Fatal(err)
	}
	e.srv.SetLatency(time.Second)
	start := time.Now()
	_, err := e.client.SearchEntities(ctx, "service", Query{})
	if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
		t.Fatalf("got %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("took %s; two 100ms attempts expected", d)
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	srv := portapi.New(portapi.Options{})
	url := srv.URL()
	srv.Close()
	c, err := New(Config{BaseURL: url, ClientID: "a", ClientSecret: "b", Retries: 1, RetryBaseDelay: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SearchEntities(context.Background(), "service", Query{})
	if err == nil || !IsTransient(err) {
		t.Fatalf("got %v, want a transient error", err)
	}
}

func TestSearchPagesAndFiltersByDatasource(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	mine := services(2500, "mine")
	e.srv.Put("port-aws-exporter/2 (accountid/1 region/eu-west-1 kind/AWS::ECS::Service)", mine...)
	e.srv.Put("someone-else", services(30, "theirs")...)
	got, err := e.client.SearchEntities(context.Background(), "service", Query{
		Rules:   []Rule{{Property: "$datasource", Operator: "contains", Value: "(accountid/1 region/eu-west-1 kind/AWS::ECS::Service)"}},
		Include: []string{"identifier", "blueprint"},
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g.Identifier] || !strings.HasPrefix(g.Identifier, "mine-") || g.Blueprint != "service" {
			t.Fatalf("unexpected or repeated entity %+v", g)
		}
		seen[g.Identifier] = true
	}
	if len(seen) != 2500 {
		t.Fatalf("%d entities, want 2500", len(seen))
	}
	if n := e.srv.Count(portapi.RouteSearch, 200); n != 3 {
		t.Errorf("%d search pages, want 3", n)
	}
}

func TestDeleteEntities(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	ents := services(150, "d")
	ents[0].Identifier = "arn:aws:x/with/slashes"
	requireOK(t, e.client.UpsertEntities(ctx, "service", ents, UpsertOptions{}), 150)
	ids := []string{"never-existed"}
	for _, en := range ents {
		ids = append(ids, en.Identifier)
	}
	requireOK(t, e.client.DeleteEntities(ctx, "service", ids, DeleteOptions{}), 151)
	if n := len(e.srv.Entities("service")); n != 0 {
		t.Fatalf("%d entities left", n)
	}
	if n := e.srv.Count(portapi.RouteBulkDelete, 200); n != 2 {
		t.Errorf("%d bulk deletes for 151 ids, want 2", n)
	}
	if err := e.client.DeleteEntity(ctx, "service", "arn:aws:x/with/slashes", DeleteOptions{}); err != nil {
		t.Errorf("deleting a gone entity: %v, want success", err)
	}
	if n := e.srv.Count(portapi.RouteDelete, 404); n != 1 {
		t.Errorf("single delete 404s: %d, want 1", n)
	}
}

func TestDeleteFallsBackToSinglesWhenOneHasDependents(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	clusters := []entity.Entity{{Blueprint: "cluster", Identifier: "c1"}, {Blueprint: "cluster", Identifier: "c2"}, {Blueprint: "cluster", Identifier: "c3"}}
	requireOK(t, e.client.UpsertEntities(ctx, "cluster", clusters, UpsertOptions{}), 3)
	dep := services(1, "dep")[0]
	dep.Relations = map[string]any{"cluster": "c2"}
	if r := e.client.UpsertEntity(ctx, "service", dep, UpsertOptions{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	res := e.client.DeleteEntities(ctx, "cluster", []string{"c1", "c2", "c3"}, DeleteOptions{})
	if res[0].Err != nil || res[2].Err != nil {
		t.Errorf("c1/c3: %v / %v, want deleted", res[0].Err, res[2].Err)
	}
	var apiErr *APIError
	if !errors.As(res[1].Err, &apiErr) || apiErr.Code != "has_dependents" || IsTransient(res[1].Err) {
		t.Errorf("c2: %v, want a permanent has_dependents error", res[1].Err)
	}
	left := e.srv.Entities("cluster")
	if len(left) != 1 || left[0].Identifier != "c2" {
		t.Errorf("left %+v, want only c2", left)
	}
	res = e.client.DeleteEntities(ctx, "cluster", []string{"c2"}, DeleteOptions{DeleteDependents: true})
	if res[0].Err != nil || len(e.srv.Entities("service")) != 0 {
		t.Errorf("delete_dependents: %v, services left %d", res[0].Err, len(e.srv.Entities("service")))
	}
}

func TestWithUserAgentSharesTokenAndSetsDatasource(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	a := e.client.WithUserAgent("port-aws-exporter/2 (accountid/1 region/a kind/K)")
	b := e.client.WithUserAgent("port-aws-exporter/2 (accountid/1 region/b kind/K)")
	requireOK(t, a.UpsertEntities(ctx, "service", services(2, "a"), UpsertOptions{}), 2)
	requireOK(t, b.UpsertEntities(ctx, "service", services(2, "b"), UpsertOptions{}), 2)
	if n := e.srv.Count(portapi.RouteToken, 200); n != 1 {
		t.Errorf("%d tokens for two copies, want 1", n)
	}
	for _, s := range e.srv.Entities("service") {
		want := a.UserAgent()
		if strings.HasPrefix(s.Identifier, "b-") {
			want = b.UserAgent()
		}
		if s.Datasource != want {
			t.Errorf("%s: datasource %q, want %q", s.Identifier, s.Datasource, want)
		}
	}
}

func TestConcurrentWritersUnderFaults(t *testing.T) {
	// Ten 502s in all, so no request can fail more often than its budget of ten retries.
	e := newEnv(t, portapi.Options{RateLimit: portapi.RateLimit{EveryNth: 3}}, func(c *Config) { c.Retries = 10 })
	e.srv.Fail(portapi.Fault{Status: 502, Requests: 10, Route: portapi.RouteBulkUpsert})
	var observed atomic.Int64
	e.client.shared.cfg.Observe = func(string, int, time.Duration) { observed.Add(1) }
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client.WithUserAgent(fmt.Sprintf("writer-%d", w))
			for _, r := range c.UpsertEntities(ctx, "service", services(100, fmt.Sprintf("w%d", w)), UpsertOptions{}) {
				if r.Err != nil {
					t.Errorf("writer %d, %s: %v", w, r.Ref, r.Err)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(e.srv.Entities("service")); n != 1000 {
		t.Fatalf("%d entities, want 1000", n)
	}
	if e.srv.Count("", 429) == 0 || e.srv.Count("", 502) != 10 {
		t.Errorf("faults not exercised: 429s %d, 502s %d", e.srv.Count("", 429), e.srv.Count("", 502))
	}
	if int(observed.Load()) != e.srv.Count("", 0) {
		t.Errorf("Observe saw %d attempts, server %d", observed.Load(), e.srv.Count("", 0))
	}
	// At most writers × Concurrency in flight. Not "at least 2": every third
	// answer is a 429 here, which holds the shared pace, so the writers may
	// meet the server one at a time (about 6 % of runs did).
	if got := e.srv.MaxConcurrent(); got < 1 || got > 10*4+1 {
		t.Errorf("max concurrent %d, want at most writers×Concurrency", got)
	}
	if strings.Contains(e.logs.String(), "Bearer") || strings.Contains(e.logs.String(), e.srv.ClientSecret()) {
		t.Errorf("logs carry a credential")
	}
}

func TestPacingSharedByCopies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, portapi.Options{}, func(c *Config) { c.RequestsPerSecond = 20; c.Burst = 1 })
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client.WithUserAgent(fmt.Sprint("p", i))
			for range 3 {
				if _, err := c.SearchEntities(ctx, "service", Query{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// 12 searches + 1 token at 20/s with a burst of 1: at least 600ms.
	if d := time.Since(start); d < 550*time.Millisecond {
		t.Errorf("13 requests in %s: copies do not share the pace", d)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ClientID: "a"},
		{ClientID: "a", ClientSecret: "zq-secret", BaseURL: "ftp://x"},
		{ClientID: "a", ClientSecret: "zq-secret", BaseURL: "api.getport.io"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if cfg.ClientSecret != "" && strings.Contains(err.Error(), cfg.ClientSecret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	c, err := New(Config{ClientID: "a", ClientSecret: "b"})
	if err != nil || c.base != DefaultBaseURL {
		t.Fatalf("default base URL: %v %v", c, err)
	}
}

// Plain http would carry the client secret and the bearer token in clear
// text: only a loopback host may be reached that way.
func TestBaseURLSchemeAndHost(t *testing.T) {
	cases := []struct {
		url  string
		want string // "" accepted, else part of the error
	}{
		{"https://api.getport.io", ""},
		{"https://api.us.port.io/v1", ""},
		{"HTTPS://api.getport.io", ""},
		{"https://10.0.0.8:8443", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://127.9.8.7", ""},
		{"http://[::1]:9000", ""},
		{"http://localhost:3000", ""},
		{"http://LOCALHOST.", ""},
		{"http://api.getport.io", "PORT_API_URL"},
		{"http://10.0.0.8:8080", "not loopback"},
		{"http://[::2]:80", "not loopback"},
		{"http://localhost.evil.example", "not loopback"},
		{"http://127.0.0.1.evil.example", "not loopback"},
		{"http://0x7f000001", "not loopback"},
		{"http://user:zq-pass@api.getport.io", "https://"},
		{"https://", "no host"},
		{"ws://127.0.0.1", "not an http(s) URL"},
		{"https://a b.example/%zz", "does not parse"},
	}
	if len(cases) < 19 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, tc := range cases {
		_, err := New(Config{ClientID: "a", ClientSecret: "zq-secret", BaseURL: tc.url})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.url, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted", tc.url)
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q does not say %q", tc.url, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), "zq-pass") || strings.Contains(err.Error(), "zq-secret")):
			t.Errorf("%s: error shows a secret: %v", tc.url, err)
		case err != nil && !strings.Contains(err.Error(), "PORT_API_URL"):
			t.Errorf("%s: error %q does not name PORT_API_URL", tc.url, err)
		}
	}
}

func TestBlueprints(t *testing.T) {
	e := newEnv(t, portapi.Options{}, nil)
	ctx := context.Background()
	if _, err := e.client.GetBlueprint(ctx, "vpc"); !IsNotFound(err) {
		t.Fatalf("missing blueprint: %v, want not found", err)
	}
	if _, err := e.client.CreateBlueprint(ctx, []byte(`{"identifier":"vpc","title":"VPC","schema":{"properties":{"cidr":{"type":"string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.GetBlueprint(ctx, "vpc")
	if err != nil || !strings.Contains(string(got), `"cidr"`) {
		t.Fatalf("get: %s %v", got, err)
	}
	_, err = e.client.CreateBlueprint(ctx, []byte(`{"identifier":"vpc","title":"VPC","schema":{"properties":{}}}`))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Errorf("second create: %v, want 409", err)
	}

	// PATCH adds beside what is there; PUT replaces.
	got, err = e.client.UpdateBlueprint(ctx, "vpc", []byte(`{"schema":{"properties":{"name":{"type":"string"}}}}`))
	if err != nil || !strings.Contains(string(got), `"cidr"`) || !strings.Contains(string(got), `"name"`) {
		t.Fatalf("update: %s %v, want cidr and name", got, err)
	}
	got, err = e.client.ReplaceBlueprint(ctx, "vpc", []byte(`{"identifier":"vpc","title":"VPC","schema":{"properties":{"name":{"type":"string"}}}}`))
	if err != nil || strings.Contains(string(got), `"cidr"`) || !strings.Contains(string(got), `"name"`) {
		t.Fatalf("replace: %s %v, want name only", got, err)
	}
	if n := e.srv.Count(portapi.RoutePatchBlueprint, http.StatusOK) + e.srv.Count(portapi.RoutePutBlueprint, http.StatusOK); n != 2 {
		t.Errorf("%d successful PATCH/PUT requests, want 2", n)
	}
	if _, err := e.client.UpdateBlueprint(ctx, "nope", []byte(`{"title":"Nope"}`)); !IsNotFound(err) {
		t.Errorf("update of a missing blueprint: %v, want not found", err)
	}
	for _, bad := range [][]byte{[]byte(`{`), nil} {
		if _, err := e.client.UpdateBlueprint(ctx, "vpc", bad); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("update with body %q: %v, want refused before sending", bad, err)
		}
	}
	if _, err := e.client.ReplaceBlueprint(ctx, "", []byte(`{}`)); err == nil {
		t.Error("replace without an identifier was sent")
	}
}

func TestPacingFollowsPortsRemainingBudget(t *testing.T) {
	t.Parallel()
	// Ten requests per 2s window and a client allowed 1000/s: unadapted it
	// would hit 429 on every eleventh request; following
	// x-ratelimit-remaining it slows down near the end of each window.
	e := newEnv(t, portapi.Options{RateLimit: portapi.RateLimit{Limit: 10, Period: 2 * time.Second}},
		func(c *Config) { c.RequestsPerSecond = 1000; c.Burst = 1 })
	ctx := context.Background()
	start := time.Now()
	for i := range 25 {
		if _, err := e.client.SearchEntities(ctx, "service", Query{}); err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
	}
	if n := e.srv.Count(portapi.RouteSearch, 429); n > 0 {
		t.Errorf("%d 429s; the pacer should have spread the window's budget", n)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("25 requests at 10 per 2s window done in %s", d)
	}
}

func TestCancelledContextFailsEveryEntityFast(t *testing.T) {
	// The token fetch outlives the caller (it serves every waiter), so the
	// double's Close waits for it: keep the latency short.
	e := newEnv(t, portapi.Options{Latency: 500 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := e.client.UpsertEntities(ctx, "service", services(100, "c"), UpsertOptions{})
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("took %s after the context ended", d)
	}
	for i, r := range res {
		if !errors.Is(r.Err, context.DeadlineExceeded) || !IsTransient(r.Err) {
			t.Fatalf("result %d: %v, want the context's deadline, transient", i, r.Err)
		}
	}
	if n := len(e.srv.Entities("service")); n != 0 {
		t.Errorf("%d entities written after the deadline", n)
	}
}

func TestAuthenticateRejectsBadCredentialsUpFront(t *testing.T) {
	bad := newEnv(t, portapi.Options{}, func(c *Config) { c.ClientSecret = "wrong-secret" })
	err := bad.client.Authenticate(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || IsTransient(err) {
		t.Fatalf("Authenticate with a wrong secret = %v, want a permanent 401", err)
	}

	good := newEnv(t, portapi.Options{}, nil)
	for range 2 {
		if err := good.client.Authenticate(context.Background()); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
	}
	if n := good.srv.Count(portapi.RouteToken, 200); n != 1 {
		t.Errorf("%d token requests for two Authenticate calls, want 1 (cached)", n)
	}
}

// PORT_API_URL copied from Port's documentation ends in /v1.
func TestBaseURLMayEndInV1(t *testing.T) {
	for _, suffix := range []string{"/v1", "/v1/", "/"} {
		e := newEnv(t, portapi.Options{}, func(c *Config) { c.BaseURL += suffix })
		if err := e.client.Authenticate(context.Background()); err != nil {
			t.Errorf("base URL ending in %q: %v", suffix, err)
		}
	}
}
