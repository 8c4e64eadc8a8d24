package port

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const tokenPath = "/v1/auth/access_token"

// tokenCache holds one access token for every copy of the client. Fetches
// are single-flight: fifty goroutines that find the token stale wait for
// one request, not fifty.
type tokenCache struct {
	fetch func(ctx context.Context) (token string, lifetime time.Duration, err error)

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	flight    singleflight.Group
}

func (t *tokenCache) cached() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.token, t.token != "" && time.Now().Before(t.refreshAt)
}

func (t *tokenCache) get(ctx context.Context) (string, error) {
	if tok, ok := t.cached(); ok {
		return tok, nil
	}
	ch := t.flight.DoChan("token", func() (any, error) {
		// A caller that found the token stale just before another flight
		// landed must not start a second fetch.
		if tok, ok := t.cached(); ok {
			return tok, nil
		}
		// The fetch serves every waiter, so one waiter giving up must not
		// cancel it; do's own budget bounds it.
		tok, lifetime, err := t.fetch(context.WithoutCancel(ctx))
		if err != nil {
			return "", err
		}
		t.mu.Lock()
		t.token, t.refreshAt = tok, time.Now().Add(lifetime-refreshMargin(lifetime))
		t.mu.Unlock()
		return tok, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("port: waiting for an access token: %w", ctx.Err())
	}
}

// invalidate drops the token after Port refused it; a token already
// replaced by another goroutine's refresh is left alone.
func (t *tokenCache) invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token = ""
	}
}

// refreshMargin is how long before expiry a token is replaced: a tenth of its
// life, at most five minutes (Port's 3-hour tokens are renewed 5 minutes early).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/10, 5*time.Minute)
}

// fetchToken asks Port for an access token. The body carries the client
// secret; it is never logged, and errors only carry Port's answer.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	body, err := json.Marshal(struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}{c.cfg.ClientID, c.cfg.ClientSecret})
	if err != nil {
		return "", 0, fmt.Errorf("port: encoding the token request: %w", err)
	}
	resp, err := c.do(ctx, request{route: "token", method: http.MethodPost, path: tokenPath, body: body, noAuth: true})
	if err != nil {
		return "", 0, fmt.Errorf("port: getting an access token: %w", err)
	}
	var tok struct {
		AccessToken string  `json:"accessToken"`
		ExpiresIn   float64 `json:"expiresIn"`
	}
	if err := json.Unmarshal(resp.body, &tok); err != nil || tok.AccessToken == "" {
		return "", 0, fmt.Errorf("port: access token answer has no accessToken (trace id %s)", resp.header.Get("X-Trace-Id"))
	}
	lifetime := time.Duration(tok.ExpiresIn * float64(time.Second))
	if lifetime <= 0 {
		// No lifetime given: use it for one request, fetch again for the next.
		lifetime = 0
	}
	return tok.AccessToken, lifetime, nil
}

// Authenticate gets an access token now (or finds one cached), so that a
// command can stop at once on credentials Port rejects, before it reads a
// whole AWS account only to fail every write. The error is an *APIError;
// IsTransient tells a Port outage from a rejection.
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.tokens.get(ctx)
	return err
}
