package portapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

const testUserAgent = "portapi-test/1 (accountid/1 region/r kind/k)"

type routeFile struct {
	Blueprints []json.RawMessage `json:"blueprints"`
	Cases      []struct {
		Name  string `json:"name"`
		Steps []step `json:"steps"`
	} `json:"cases"`
}

type step struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Body    json.RawMessage   `json:"body"`
	NoAuth  bool              `json:"noauth"`
	Headers map[string]string `json:"headers"`
	Want    struct {
		Status int `json:"status"`
		JSON   any `json:"json"`
	} `json:"want"`
}

func TestRoutes(t *testing.T) {
	raw, err := os.ReadFile("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file routeFile
	if err := yaml.UnmarshalStrict(raw, &file); err != nil {
		t.Fatalf("testdata/routes.yaml: %v", err)
	}
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			srv := New(Options{})
			defer srv.Close()
			for _, bp := range file.Blueprints {
				if err := srv.AddBlueprint(bp); err != nil {
					t.Fatalf("blueprint: %v", err)
				}
			}
			token := fetchToken(t, srv)
			for i, st := range tc.Steps {
				var body io.Reader
				if st.Body != nil {
					body = bytes.NewReader(st.Body)
				}
				req, err := http.NewRequest(st.Method, srv.URL()+st.Path, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("User-Agent", testUserAgent)
				if !st.NoAuth {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				for k, v := range st.Headers {
					req.Header.Set(k, v)
				}
				status, got, hdr := do(t, req)
				if status != st.Want.Status {
					t.Fatalf("step %d %s %s: status %d, want %d; body %s", i, st.Method, st.Path, status, st.Want.Status, got)
				}
				if hdr.Get("X-Trace-Id") == "" || hdr.Get("x-ratelimit-remaining") == "" || hdr.Get("x-ratelimit-reset") == "" {
					t.Errorf("step %d: X-Trace-Id or x-ratelimit-* headers missing: %v", i, hdr)
				}
				if st.Want.JSON != nil {
					var gotJSON any
					if err := json.Unmarshal(got, &gotJSON); err != nil {
						t.Fatalf("step %d: response is not JSON: %s", i, got)
					}
					if path, ok := subset(st.Want.JSON, gotJSON, "$"); !ok {
						t.Fatalf("step %d %s %s: at %s response %s does not contain %v", i, st.Method, st.Path, path, got, st.Want.JSON)
					}
				}
			}
		})
	}
}

// subset reports whether want is contained in got, and where it is not.
func subset(want, got any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range w {
			if p, ok := subset(v, g[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(want, got)
}

func fetchToken(t testing.TB, srv *Server) string {
	t.Helper()
	body := fmt.Sprintf(`{"clientId":%q,"clientSecret":%q}`, srv.ClientID(), srv.ClientSecret())
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/auth/access_token", strings.NewReader(body))
	status, raw, _ := do(t, req)
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, raw)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token body %s: %v", raw, err)
	}
	return tok.AccessToken
}

func do(t testing.TB, req *http.Request) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// post sends an authenticated JSON request.
func post(t testing.TB, srv *Server, token, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", testUserAgent)
	return do(t, req)
}

func newWithBlueprint(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	srv := New(opts)
	t.Cleanup(srv.Close)
	if err := srv.AddBlueprint([]byte(`{"identifier":"svc","schema":{"properties":{"arn":{"type":"string"}}}}`)); err != nil {
		t.Fatal(err)
	}
	return srv, fetchToken(t, srv)
}

func TestBodyOverLimitIs413BeforeParsing(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{})
	// Not even JSON: the size alone decides.
	status, raw, _ := post(t, srv, token, "/v1/blueprints/svc/entities/bulk", strings.Repeat("x", MaxBodyBytes+1))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", status, raw)
	}
	// Chunked (no Content-Length) is cut off by the reader instead.
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/blueprints/svc/entities/bulk", io.MultiReader(strings.NewReader(strings.Repeat("y", MaxBodyBytes+10))))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+token)
	if status, raw, _ := do(t, req); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d, want 413: %s", status, raw)
	}
	if n := srv.Count(RouteBulkUpsert, http.StatusRequestEntityTooLarge); n != 2 {
		t.Errorf("counter for 413 on bulk = %d, want 2", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, token := newWithBlueprint(t, Options{TokenTTL: time.Minute, Now: clock})
	if status, _, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`); status != http.StatusOK {
		t.Fatalf("fresh token: %d", status)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	status, raw, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
	if status != http.StatusUnauthorized || !strings.Contains(string(raw), `"ok":false`) {
		t.Fatalf("expired token: %d %s", status, raw)
	}
	token = fetchToken(t, srv)
	srv.ExpireTokens()
	if status, _, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`); status != http.StatusUnauthorized {
		t.Fatalf("after ExpireTokens: %d", status)
	}
}

func TestDatasourceIsTheLastWritersUserAgent(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{})
	if status, raw, _ := post(t, srv, token, "/v1/blueprints/svc/entities?upsert=true&merge=true", `{"identifier":"a"}`); status != 201 {
		t.Fatalf("%d %s", status, raw)
	}
	first, _ := srv.Entity("svc", "a")
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/blueprints/svc/entities?upsert=true&merge=true", strings.NewReader(`{"identifier":"a","properties":{"arn":"x"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "other-writer/1")
	if status, raw, _ := do(t, req); status != 201 {
		t.Fatalf("%d %s", status, raw)
	}
	got := srv.Entities("svc")
	if len(got) != 1 || got[0].Datasource != "other-writer/1" || first.Datasource != testUserAgent {
		t.Fatalf("datasources: first %q, now %+v", first.Datasource, got)
	}
	if got[0].CreatedAt != first.CreatedAt || got[0].UpdatedAt.Before(first.UpdatedAt) || got[0].Properties["arn"] != "x" {
		t.Errorf("timestamps or properties wrong: %+v then %+v", first, got[0])
	}
}

func TestSearchPagesThroughEveryEntityOnce(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{})
	var ents []entity.Entity
	for i := range 2500 {
		ents = append(ents, entity.Entity{Blueprint: "svc", Identifier: fmt.Sprintf("e-%05d", i)})
	}
	srv.Put("seed", ents...)
	seen := map[string]bool{}
	from, pages := "", 0
	for {
		body := `{"limit":1000}`
		if from != "" {
			body = fmt.Sprintf(`{"limit":1000,"from":%q}`, from)
		}
		status, raw, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", body)
		if status != 200 {
			t.Fatalf("page %d: %d %s", pages, status, raw)
		}
		var page struct {
			Entities []struct{ Identifier string }
			Next     string
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Entities {
			if seen[e.Identifier] {
				t.Fatalf("%s returned twice", e.Identifier)
			}
			seen[e.Identifier] = true
		}
		if page.Next == "" {
			break
		}
		from = page.Next
	}
	if pages != 3 || len(seen) != 2500 {
		t.Fatalf("pages %d, entities %d; want 3 and 2500", pages, len(seen))
	}
}

func TestRateLimitWindow(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{RateLimit: RateLimit{Limit: 3, Period: time.Hour}})
	for i := range 3 {
		status, _, hdr := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
		if status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
		if got := hdr.Get("x-ratelimit-remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("request %d: remaining %q, want %d", i, got, 2-i)
		}
	}
	status, raw, hdr := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(string(raw), "rate_limit") {
		t.Fatalf("over limit: %d %s %v", status, raw, hdr)
	}
	ra, _ := strconv.Atoi(hdr.Get("Retry-After"))
	reset, _ := strconv.Atoi(hdr.Get("x-ratelimit-reset"))
	if ra < 3590 || ra > 3600 || reset != ra || hdr.Get("x-ratelimit-limit") != "3" || hdr.Get("x-ratelimit-period") != "3600" {
		t.Errorf("headers: Retry-After %q reset %q limit %q period %q", hdr.Get("Retry-After"), hdr.Get("x-ratelimit-reset"), hdr.Get("x-ratelimit-limit"), hdr.Get("x-ratelimit-period"))
	}
}

func TestRateLimitEveryNthAndEpochReset(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{RateLimit: RateLimit{EveryNth: 3, OmitRetryAfter: true, ResetAsEpoch: true}})
	var statuses []int
	for range 6 {
		status, _, hdr := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
		statuses = append(statuses, status)
		if status == 429 {
			if hdr.Get("Retry-After") != "" {
				t.Errorf("Retry-After sent although omitted")
			}
			epoch, _ := strconv.ParseInt(hdr.Get("x-ratelimit-reset"), 10, 64)
			if epoch < time.Now().Unix() {
				t.Errorf("x-ratelimit-reset %q is not a future epoch", hdr.Get("x-ratelimit-reset"))
			}
		}
	}
	if want := []int{200, 200, 429, 200, 200, 429}; !reflect.DeepEqual(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
}

func TestFaults(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{})
	srv.Fail(Fault{Status: 503, Requests: 2, Route: RouteSearch})
	var statuses []int
	for range 3 {
		status, _, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
		statuses = append(statuses, status)
	}
	if want := []int{503, 503, 200}; !reflect.DeepEqual(statuses, want) {
		t.Fatalf("count fault: %v, want %v", statuses, want)
	}
	srv.Fail(Fault{Status: 502, For: 200 * time.Millisecond})
	if status, _, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`); status != 502 {
		t.Fatalf("window fault: %d", status)
	}
	time.Sleep(250 * time.Millisecond)
	if status, _, _ := post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`); status != 200 {
		t.Fatalf("after window: %d", status)
	}
	if n := srv.Count(RouteSearch, 503); n != 2 {
		t.Errorf("503 count %d", n)
	}
}

func TestLatencyAndMaxConcurrent(t *testing.T) {
	srv, token := newWithBlueprint(t, Options{Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, srv, token, "/v1/blueprints/svc/entities/search", `{}`)
		}()
	}
	wg.Wait()
	if got := srv.MaxConcurrent(); got != 5 {
		t.Fatalf("max concurrent %d, want 5", got)
	}
}
