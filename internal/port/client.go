// Package port is the exporter's client of Port's REST API: access tokens,
// bulk upserts within Port's limits, deletes, paged search and blueprints,
// with Port's 429s honoured, transient failures retried within a budget,
// and client-side pacing shared by every copy of the client.
//
// Every write carries the client's User-Agent, from which Port records the
// entity's $datasource; WithUserAgent gives each shard its own (see
// internal/registry for the ownership scheme).
//
// Credentials stay with the configured Port: the base URL must be https
// (plain http only to a loopback host), the token request follows no
// redirect, and other requests follow only redirects to the base URL's
// scheme, host and port.
package port

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Port's EU API, the historic default of every Port client.
const DefaultBaseURL = "https://api.getport.io"

// DefaultRequestsPerSecond is Port's last published entity-API limit,
// 35,000 requests per 5 minutes per organization, as a rate.
const DefaultRequestsPerSecond = 35000.0 / 300

// MaxRequestBytes is Port's request body limit.
const MaxRequestBytes = 1 << 20

// Bulk limits of Port's entity routes.
const (
	MaxBulkUpsert = 20
	MaxBulkDelete = 100
	searchLimit   = 1000
)

// Config configures a Client. Only the credentials are required.
type Config struct {
	// BaseURL is Port's API (the caller reads PORT_API_URL); DefaultBaseURL
	// if empty. https, or http to a loopback host (127.0.0.0/8, ::1, localhost).
	BaseURL      string
	ClientID     string
	ClientSecret string
	// HTTPClient sends the requests; if nil, a client with a connection pool
	// sized for parallel requests and no overall timeout (RequestTimeout
	// bounds each request instead). The client uses a copy whose
	// CheckRedirect applies the redirect rules above first, then this
	// client's own CheckRedirect, if any.
	HTTPClient *http.Client
	// RequestTimeout bounds one HTTP exchange, body included; 30s if zero.
	RequestTimeout time.Duration
	// Retries is the retry budget of one request for 5xx, 408, timeouts and
	// connection errors; 5 if zero, none if negative.
	Retries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with
	// full jitter; 500ms and 20s if zero.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// MaxRateLimitWait caps the total time one request waits on 429s before
	// it fails with a transient error (the write is then retried by the
	// caller, never dropped); 10 minutes if zero.
	MaxRateLimitWait time.Duration
	// RequestsPerSecond is the ceiling of the pace, shared by every copy
	// of the client: below it the pace is the budget Port's headers state
	// (x-ratelimit-limit ÷ x-ratelimit-period), DefaultRequestsPerSecond
	// until an answer says. Zero or +Inf: no ceiling; negative: unpaced.
	RequestsPerSecond float64
	// OnPace, when set, is called with the pace whenever it changes (the
	// budget found, a window nearly spent) and once at the start.
	OnPace func(perSecond float64)
	// Burst is how many requests may go at once above the pace; 10 if zero.
	Burst int
	// MaxRequestBytes is the body size one request may have; Port's 1 MiB if zero.
	MaxRequestBytes int
	// Concurrency is how many bulk requests one UpsertEntities or
	// DeleteEntities call keeps in flight; 4 if zero.
	Concurrency int
	// UserAgent is sent with every request; Port derives $datasource from it.
	UserAgent string
	// Logger gets retries and rate-limit waits; slog.Default() if nil.
	Logger *slog.Logger
	// Observe, if set, is called after every HTTP attempt with a short route
	// name (token, upsert, bulk_upsert, delete, bulk_delete, search,
	// get_blueprint, create_blueprint), the status (0 when no answer came)
	// and the time it took. It must be safe for concurrent use.
	Observe func(route string, status int, d time.Duration)
}

// Client talks to Port. It is safe for concurrent use.
type Client struct {
	*shared
	userAgent string
}

// shared is what every WithUserAgent copy has in common.
type shared struct {
	cfg    Config
	base   string
	http   *http.Client
	tokens *tokenCache
	pace   *pacer
	log    *slog.Logger
}

// New checks cfg, fills its defaults and returns a client. It does no I/O:
// the first token is fetched with the first request.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("port client: ClientID and ClientSecret are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		// Go's default keeps 2 idle connections per host; shards and bulk
		// requests run in parallel against one host, so keep more and skip
		// a TLS handshake per request.
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Transport: transport}
	}
	// A copy, so that the caller's client keeps its own redirect policy.
	hc := *cfg.HTTPClient
	hc.CheckRedirect = redirectPolicy(origin(u), cfg.HTTPClient.CheckRedirect)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 5
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = 500 * time.Millisecond
	}
	if cfg.RetryMaxDelay <= 0 {
		cfg.RetryMaxDelay = 20 * time.Second
	}
	if cfg.MaxRateLimitWait <= 0 {
		cfg.MaxRateLimitWait = 10 * time.Minute
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = MaxRequestBytes
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "port-aws-exporter"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sh := &shared{
		cfg: cfg,
		// Port's documentation writes the API as https://api.getport.io/v1;
		// the routes carry /v1 themselves, so a base URL ending in it works too.
		base: strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1"),
		http: &hc,
		pace: newPacer(cfg.RequestsPerSecond, cfg.Burst, cfg.OnPace),
		log:  cfg.Logger,
	}
	c := &Client{shared: sh, userAgent: cfg.UserAgent}
	sh.tokens = &tokenCache{fetch: c.fetchToken}
	return c, nil
}

// Pace is the Port request pace in effect, in requests per second (+Inf
// when unpaced): the budget found from Port's headers, or less while a
// window is nearly spent.
func (c *Client) Pace() float64 { return float64(c.pace.rate()) }

// WithUserAgent returns a client that shares this one's token cache, pacing
// and hooks but sends another User-Agent, so that Port records another
// $datasource on what it writes.
func (c *Client) WithUserAgent(ua string) *Client {
	return &Client{shared: c.shared, userAgent: ua}
}

// UserAgent is the User-Agent this client sends.
func (c *Client) UserAgent() string { return c.userAgent }

// request is one logical API call; do may send it several times.
type request struct {
	route  string // short name for Observe and logs
	method string
	path   string // escaped, from /v1 on
	query  url.Values
	body   []byte
	// noAuth marks the token request: it carries no bearer token, its body
	// is the client secret, and it follows no redirect.
	noAuth bool
}

type response struct {
	status int
	body   []byte
	header http.Header
}

// do sends req until it gets a 2xx, a permanent answer, or runs out of
// budget: one token refresh after a 401, Retries for 5xx/408/transport
// failures, MaxRateLimitWait for 429s.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	var (
		retries   int
		throttled int
		rateWait  time.Duration
		refreshed bool
	)
	for {
		token := ""
		if !req.noAuth {
			// The token first: a request holding its pace ticket must not
			// wait for the token request behind it.
			var err error
			if token, err = c.tokens.get(ctx); err != nil {
				return nil, err
			}
		}
		var tk ticket
		if req.noAuth {
			// The token request is not paced (it comes once an hour, and
			// every paced request may be waiting for it), but it counts.
			tk = c.pace.unpacedTicket()
		} else {
			var err error
			if tk, err = c.pace.wait(ctx); err != nil {
				return nil, fmt.Errorf("port %s %s: waiting for the client's pace: %w", req.method, req.path, err)
			}
		}
		resp, err := c.send(ctx, req, token)
		if err != nil {
			c.pace.done(tk, nil, time.Now())
			if ctx.Err() != nil {
				return nil, fmt.Errorf("port %s %s: %w", req.method, req.path, ctx.Err())
			}
			if !IsTransient(err) {
				// A refused redirect, a request that cannot be built:
				// sending it again cannot help.
				return nil, err
			}
			if retries >= c.cfg.Retries {
				return nil, err
			}
			retries++
			if err := c.backoff(ctx, req, retries, 0, "", err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		c.pace.done(tk, resp.header, time.Now())
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		apiErr := newAPIError(req, resp)
		switch {
		case resp.status == http.StatusUnauthorized && !req.noAuth && !refreshed:
			// The token was revoked or expired early: fetch one more, once.
			c.tokens.invalidate(token)
			refreshed = true
		case resp.status == http.StatusTooManyRequests:
			throttled++
			wait, advised := rateLimitWait(resp.header, time.Now())
			if advised && wait > 0 {
				// Spread the clients that were told the same instant.
				wait += rand.N(wait/4 + c.cfg.RetryBaseDelay)
			} else {
				// "Retry now" or no advice: back off anyway, or a Port that
				// keeps refusing would be hammered until the wait cap.
				wait = c.backoffDelay(throttled)
			}
			if rateWait+wait > c.cfg.MaxRateLimitWait {
				c.log.Warn("Port rate limit: giving up on the request after waiting the maximum",
					"method", req.method, "path", req.path, "waited", rateWait, "trace_id", apiErr.TraceID)
				return nil, apiErr
			}
			rateWait += wait
			c.log.Debug("Port rate limit: waiting", "method", req.method, "path", req.path, "wait", wait, "trace_id", apiErr.TraceID)
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("port %s %s: waiting out a 429: %w", req.method, req.path, err)
			}
		case resp.status >= 500 || resp.status == http.StatusRequestTimeout:
			if retries >= c.cfg.Retries {
				return nil, apiErr
			}
			retries++
			if err := c.backoff(ctx, req, retries, resp.status, apiErr.TraceID, apiErr.Message); err != nil {
				return nil, err
			}
		default:
			return nil, apiErr
		}
	}
}

// send makes one HTTP exchange bounded by RequestTimeout.
func (c *Client) send(ctx context.Context, req request, token string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	target := c.base + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	if req.noAuth {
		ctx = context.WithValue(ctx, noRedirectKey{}, true)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("port %s %s: building the request: %w", req.method, req.path, err)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	hresp, err := c.http.Do(hreq)
	if err != nil {
		var redirect *redirectError
		if errors.As(err, &redirect) {
			// Permanent, and without the answer's body (or the URL's path
			// and query): only where the redirect pointed.
			c.observe(req.route, redirect.status, time.Since(start))
			redirect.method, redirect.path = req.method, req.path
			return nil, redirect
		}
		c.observe(req.route, 0, time.Since(start))
		return nil, c.transportError(ctx, req, err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(hresp.Body)
	c.observe(req.route, hresp.StatusCode, time.Since(start))
	if err != nil {
		return nil, c.transportError(ctx, req, err)
	}
	return &response{status: hresp.StatusCode, body: data, header: hresp.Header}, nil
}

func (c *Client) transportError(ctx context.Context, req request, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("port %s %s: no complete answer within %s: %w", req.method, req.path, c.cfg.RequestTimeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("port %s %s: %w: %w", req.method, req.path, errTransport, err)
}

func (c *Client) observe(route string, status int, d time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(route, status, d)
	}
}

func (c *Client) backoff(ctx context.Context, req request, attempt, status int, traceID, reason string) error {
	wait := c.backoffDelay(attempt)
	c.log.Warn("Port request failed, retrying", "method", req.method, "path", req.path, "status", status,
		"trace_id", traceID, "reason", reason, "attempt", attempt, "of", c.cfg.Retries, "wait", wait)
	if err := sleep(ctx, wait); err != nil {
		return fmt.Errorf("port %s %s: waiting to retry: %w", req.method, req.path, err)
	}
	return nil
}

// backoffDelay is exponential backoff with full jitter: a uniform wait in
// [0, min(max, base·2^attempt)).
func (c *Client) backoffDelay(attempt int) time.Duration {
	ceiling := c.cfg.RetryMaxDelay
	if attempt < 30 {
		if d := c.cfg.RetryBaseDelay << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return rand.N(ceiling) + 1
}

func newAPIError(req request, resp *response) *APIError {
	apiErr := &APIError{StatusCode: resp.status, TraceID: resp.header.Get("X-Trace-Id"), Method: req.method, Path: req.path}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		apiErr.Code, apiErr.Message = body.Error, body.Message
	} else {
		apiErr.Message = strings.TrimSpace(truncate(string(resp.body), 200))
	}
	return apiErr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// postJSON sends a JSON body and decodes a 2xx answer into out (if not nil).
func (c *Client) postJSON(ctx context.Context, route, path string, query url.Values, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("port POST %s: encoding the body: %w", path, err)
	}
	resp, err := c.do(ctx, request{route: route, method: http.MethodPost, path: path, query: query, body: body})
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return fmt.Errorf("port POST %s: decoding the answer (trace id %s): %w", path, resp.header.Get("X-Trace-Id"), err)
		}
	}
	return nil
}
