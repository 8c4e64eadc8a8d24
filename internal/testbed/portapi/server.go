// Package portapi is a test double of Port's REST API, as strict as Port is
// about the things the exporter depends on (../../../docs and the shared
// port-api.md spec): the identifier pattern, bulk limits, the 1 MiB body limit,
// property types against the blueprint schema, relation targets, token expiry,
// 401, 429 with the rate-limit headers, $datasource from the User-Agent, and
// paged search. Tests, the demo command and benchmarks talk to it over real
// HTTP on 127.0.0.1, through the real Port client.
//
// Where Port's behaviour is inferred rather than documented, the code says
// so. The inferences, in one place:
//   - $datasource is the User-Agent of the request that last wrote the
//     entity; relation targets created by create_missing_related_entities
//     get the same one.
//   - Writing an existing identifier without upsert=true is 409 "identifier_taken".
//   - A property the blueprint does not define is 422, like a wrong type.
//   - In a bulk upsert a bad identifier fails the whole request (422): the
//     pattern is part of the route's schema; blueprint-schema problems,
//     missing relation targets and conflicts are per-index errors (207).
//   - Deleting an entity that others relate to, without delete_dependents,
//     is 422 "has_dependents"; in a bulk delete it fails the whole request.
//   - A bulk delete ignores identifiers that do not exist.
//   - The double requires an identifier, where Port would generate one.
//   - The token route is not counted by the rate limiter.
//   - PATCH of a blueprint is a JSON Merge Patch of the stored one; a body
//     identifier other than the path's is 422; a property or relation an
//     update removes is dropped from the blueprint's entities
//     (blueprint_update.go).
package portapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/entity"
)

// Route names: the ServeMux patterns, used by the request counters.
const (
	RouteToken           = "POST /v1/auth/access_token"
	RouteCreateBlueprint = "POST /v1/blueprints"
	RouteGetBlueprint    = "GET /v1/blueprints/{blueprint}"
	RoutePatchBlueprint  = "PATCH /v1/blueprints/{blueprint}"
	RoutePutBlueprint    = "PUT /v1/blueprints/{blueprint}"
	RouteUpsert          = "POST /v1/blueprints/{blueprint}/entities"
	RouteBulkUpsert      = "POST /v1/blueprints/{blueprint}/entities/bulk"
	RouteGetEntity       = "GET /v1/blueprints/{blueprint}/entities/{identifier}"
	RouteDelete          = "DELETE /v1/blueprints/{blueprint}/entities/{identifier}"
	RouteBulkDelete      = "POST /v1/blueprints/{blueprint}/bulk/entities/delete"
	RouteSearch          = "POST /v1/blueprints/{blueprint}/entities/search"
	RouteSearchAll       = "POST /v1/entities/search"
	// RouteUnknown counts requests no route matched (answered 404 in Port's shape).
	RouteUnknown = "/"
)

// MaxBodyBytes is Port's request body limit.
const MaxBodyBytes = 1 << 20

// Options configure a Server. The zero value is usable: credentials are then
// "client-id" / "double-client-secret-3f9a1c0e7b2d4f68".
type Options struct {
	ClientID     string
	ClientSecret string
	// TokenTTL is the lifetime of an access token; Port's is about 3 hours.
	TokenTTL time.Duration
	// MaxBodyBytes overrides Port's 1 MiB body limit (tests of the 413 path
	// set it lower than the client's limit).
	MaxBodyBytes int64
	// RateLimit is the limiter; the zero value is Port's last published
	// figure for entity requests (35,000 per 5 minutes).
	RateLimit RateLimit
	// Latency is added to every request before it is answered.
	Latency time.Duration
	// Now is the clock (tokens, timestamps, rate windows); time.Now if nil.
	Now func() time.Time
}

// Server is a running Port API double. It is also an http.Handler, so the
// demo can mount it on its own listener.
type Server struct {
	opts Options
	ts   *httptest.Server
	mux  *http.ServeMux

	mu          sync.Mutex
	tokens      map[string]time.Time // access token → expiry
	blueprints  map[string]*blueprint
	entities    map[string]map[string]*StoredEntity // blueprint → identifier → entity
	counts      map[RequestKey]int
	inflight    int
	maxInflight int
	latency     time.Duration
	faults      []*activeFault
	limiter     *limiter
}

// StoredEntity is an entity as the double holds it, with the metadata Port
// keeps beside it.
type StoredEntity struct {
	entity.Entity
	// Datasource is the User-Agent of the request that last wrote the entity:
	// Port derives $datasource from it (inferred from Port's clients, not documented).
	Datasource string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RequestKey is one (route, status) pair of the request counters.
type RequestKey struct {
	Route  string
	Status int
}

// New starts a Port API double on 127.0.0.1 with an ephemeral port.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	return s
}

// NewHandler returns a Port API double that is not listening; serve it with
// any http.Server. URL and Close are then not available.
func NewHandler(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "double-client-secret-3f9a1c0e7b2d4f68" // as long as a real one: the shard key is derived from it
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3 * time.Hour
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = MaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:       opts,
		tokens:     map[string]time.Time{},
		blueprints: map[string]*blueprint{},
		entities:   map[string]map[string]*StoredEntity{},
		counts:     map[RequestKey]int{},
		latency:    opts.Latency,
		limiter:    newLimiter(opts.RateLimit),
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(RouteToken, s.handleToken)
	s.mux.HandleFunc(RouteCreateBlueprint, s.authed(s.handleCreateBlueprint))
	s.mux.HandleFunc(RouteGetBlueprint, s.authed(s.handleGetBlueprint))
	s.mux.HandleFunc(RoutePatchBlueprint, s.authed(s.handlePatchBlueprint))
	s.mux.HandleFunc(RoutePutBlueprint, s.authed(s.handlePutBlueprint))
	s.mux.HandleFunc(RouteUpsert, s.authed(s.handleUpsert))
	s.mux.HandleFunc(RouteBulkUpsert, s.authed(s.handleBulkUpsert))
	s.mux.HandleFunc(RouteGetEntity, s.authed(s.handleGetEntity))
	s.mux.HandleFunc(RouteDelete, s.authed(s.handleDelete))
	s.mux.HandleFunc(RouteBulkDelete, s.authed(s.handleBulkDelete))
	s.mux.HandleFunc(RouteSearch, s.authed(s.handleSearch))
	s.mux.HandleFunc(RouteSearchAll, s.authed(s.handleSearchAll))
	s.mux.HandleFunc(RouteUnknown, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// URL is the base URL to give the Port client (PORT_API_URL).
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server and waits for requests in flight.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// ClientID and ClientSecret are the credentials the double accepts.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// ServeHTTP runs every request through what Port does before a route sees
// it: trace id, rate-limit headers, latency, injected faults, the limiter,
// the body limit; then the route; then the counters.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	w.Header().Set("X-Trace-Id", newID(8))

	s.mu.Lock()
	s.inflight++
	if s.inflight > s.maxInflight {
		s.maxInflight = s.inflight
	}
	latency, limiter := s.latency, s.limiter
	s.mu.Unlock()

	_, route := s.mux.Handler(r)
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.counts[RequestKey{Route: route, Status: rec.status}]++
		s.mu.Unlock()
	}()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			rec.status = 499 // client went away, as nginx records it
			return
		}
	}
	// The token route and injected faults are left out of the limiter's
	// count, so that "every k-th request" counts API calls, not token
	// fetches or failures (Port does not document either way); their
	// answers still carry the window's headers.
	if status, ok := s.takeFault(route); ok {
		limiter.headers(s.opts.Now(), w.Header())
		writeError(w, status, faultCode(status), "injected fault")
		return
	}
	if route == RouteToken {
		limiter.headers(s.opts.Now(), w.Header())
	} else if d := limiter.take(s.opts.Now(), w.Header()); d != nil {
		if d.retryAfter >= 0 {
			w.Header().Set("Retry-After", strconv.Itoa(d.retryAfter))
		}
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "too many requests, retry later")
		return
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request body is larger than the limit")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	s.mux.ServeHTTP(w, r)
}

// authed rejects requests without a live access token, as Port does, with
// the error body of the spec.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		auth := r.Header.Get("Authorization")
		if len(auth) <= len(prefix) || auth[:len(prefix)] != prefix {
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}
		s.mu.Lock()
		expiry, ok := s.tokens[auth[len(prefix):]]
		s.mu.Unlock()
		if !ok || !s.opts.Now().Before(expiry) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "token is invalid or expired")
			return
		}
		h(w, r)
	}
}

// ExpireTokens invalidates every access token issued so far, as if they had
// all run out; the next request with one of them gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// SetLatency changes the latency added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit replaces the limiter (and starts a new window).
func (s *Server) SetRateLimit(rl RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiter = newLimiter(rl)
}

// Count is the number of requests answered on route with status; an empty
// route or a zero status matches any.
func (s *Server) Count(route string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.counts {
		if (route == "" || k.Route == route) && (status == 0 || k.Status == status) {
			n += c
		}
	}
	return n
}

// Counts is a copy of every request counter.
func (s *Server) Counts() map[RequestKey]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[RequestKey]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// MaxConcurrent is the most requests the double was handling at one time.
func (s *Server) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInflight
}

// Entities returns the entities of a blueprint, sorted by identifier.
func (s *Server) Entities(blueprint string) []StoredEntity {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StoredEntity, 0, len(s.entities[blueprint]))
	for _, e := range s.entities[blueprint] {
		out = append(out, e.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identifier < out[j].Identifier })
	return out
}

// Entity returns one entity and whether it exists.
func (s *Server) Entity(blueprint, identifier string) (StoredEntity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entities[blueprint][identifier]
	if !ok {
		return StoredEntity{}, false
	}
	return e.clone(), true
}

// Put stores entities directly, as if datasource had written them, without
// schema checks: for tests that need a catalog in a given state (for
// example entities written by another exporter).
func (s *Server) Put(datasource string, ents ...entity.Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	for _, e := range ents {
		byID := s.entities[e.Blueprint]
		if byID == nil {
			byID = map[string]*StoredEntity{}
			s.entities[e.Blueprint] = byID
		}
		stored := StoredEntity{Entity: e, Datasource: datasource, CreatedAt: now, UpdatedAt: now}
		stored = stored.clone()
		byID[e.Identifier] = &stored
	}
}

func (e *StoredEntity) clone() StoredEntity {
	c := *e
	c.Properties = cloneMap(e.Properties)
	c.Relations = cloneMap(e.Relations)
	return c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
