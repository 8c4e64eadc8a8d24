package port

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// recorder is a server that should never be reached: it records every
// request it receives (method, path, whether it carried an Authorization
// header or a clientSecret; never their values, which test failures would print).
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, fmt.Sprintf("%s %s authorization=%t clientSecret=%t", req.Method, req.URL.Path,
			req.Header.Get("Authorization") != "", strings.Contains(string(body), "clientSecret")))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"accessToken":"stolen","expiresIn":3600,"entities":[]}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *recorder) host() string {
	u, _ := url.Parse(r.srv.URL)
	return u.Host
}

// redirector answers the paths for which redirect returns a target with a
// redirect of the given status there, and proxies everything else to the
// Port double.
func redirector(t *testing.T, double *portapi.Server, status int, redirect func(path string) string) *httptest.Server {
	t.Helper()
	up, err := url.Parse(double.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if to := redirect(req.URL.Path); to != "" {
			w.Header().Set("Location", to)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"ok":false,"message":"moved, secret-looking body zq-body-marker"}`)
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func redirectClient(t *testing.T, double *portapi.Server, base string) *Client {
	t.Helper()
	c, err := New(Config{
		BaseURL: base, ClientID: double.ClientID(), ClientSecret: double.ClientSecret(),
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The attack of issue 9: the configured Port host answers the token request
// with a 307 to another host. Following it would re-post the client id and
// secret there. The token request follows no redirect at all: the other host
// receives nothing, and the error names where the redirect pointed without
// echoing the answer's body.
func TestTokenRequestNeverFollowsARedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			double := portapi.New(portapi.Options{})
			t.Cleanup(double.Close)
			evil := newRecorder(t)
			front := redirector(t, double, status, func(path string) string {
				if path == tokenPath {
					return evil.srv.URL + tokenPath
				}
				return ""
			})
			c := redirectClient(t, double, front.URL)
			err := c.Authenticate(context.Background())
			if got := evil.received(); len(got) != 0 {
				t.Fatalf("the redirect target received %d request(s): %q", len(got), got)
			}
			if err == nil {
				t.Fatal("Authenticate succeeded through a redirect")
			}
			msg := err.Error()
			if !strings.Contains(msg, evil.host()) {
				t.Errorf("error %q does not name the redirect's host %s", msg, evil.host())
			}
			for _, leak := range []string{double.ClientSecret(), "zq-body-marker"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q shows %q", msg, leak)
				}
			}
			if IsTransient(err) {
				t.Errorf("a redirect of the token request is transient (%v): it would be retried forever", err)
			}
		})
	}
}

// Same-host redirects of the token request are refused too: the body is the
// client secret, and no Port route redirects.
func TestTokenRequestRefusesSameHostRedirect(t *testing.T) {
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	front := redirector(t, double, http.StatusTemporaryRedirect, func(path string) string {
		if path == tokenPath {
			return "/v1/auth/access_token2"
		}
		return ""
	})
	c := redirectClient(t, double, front.URL)
	if err := c.Authenticate(context.Background()); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Authenticate through a same-host 307: %v, want a redirect error", err)
	}
	if n := double.Count("", 0); n != 0 {
		t.Errorf("%d requests reached Port, want 0", n)
	}
}

// An API request (which carries the bearer token) never follows a redirect
// to another scheme, host or port; one to the same origin is followed.
func TestAPIRequestsFollowOnlySameOriginRedirects(t *testing.T) {
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	if err := double.AddBlueprint([]byte(clusterBlueprint)); err != nil {
		t.Fatal(err)
	}
	evil := newRecorder(t)
	searchPath := "/v1/blueprints/cluster/entities/search"
	var front *httptest.Server
	front = redirector(t, double, http.StatusTemporaryRedirect, func(path string) string {
		switch path {
		case "/v1/blueprints/elsewhere/entities/search":
			return evil.srv.URL + searchPath
		case "/v1/blueprints/sameorigin/entities/search":
			return front.URL + searchPath
		case "/v1/blueprints/downgrade/entities/search":
			return "https://" + strings.TrimPrefix(front.URL, "http://") + searchPath
		}
		return ""
	})
	c := redirectClient(t, double, front.URL)
	ctx := context.Background()
	if _, err := c.SearchEntities(ctx, "sameorigin", Query{}); err != nil {
		t.Fatalf("same-origin redirect not followed: %v", err)
	}
	for _, bp := range []string{"elsewhere", "downgrade"} {
		_, err := c.SearchEntities(ctx, bp, Query{})
		if got := evil.received(); len(got) != 0 {
			t.Fatalf("%s: the other host received %d request(s): %q", bp, len(got), got)
		}
		if err == nil {
			t.Fatalf("%s: search followed a redirect off the configured origin", bp)
		}
		if !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%s: error %q does not say it was a redirect", bp, err)
		}
		if IsTransient(err) {
			t.Errorf("%s: refused redirect is transient: %v", bp, err)
		}
	}
}
