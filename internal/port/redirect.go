package port

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// checkBaseURL parses Port's base URL (PORT_API_URL). https is always
// accepted; http only for a loopback host (127.0.0.0/8, ::1, localhost),
// where a test double or a local proxy listens: anywhere else the client
// secret and the bearer token would cross the network in clear text.
func checkBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, which may hold a password.
		return nil, fmt.Errorf("port client: PORT_API_URL (the Port base URL) does not parse as a URL")
	}
	shown := u.Redacted()
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if u.Hostname() != "" && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("port client: PORT_API_URL %q uses http:// to a host that is not loopback; "+
				"use https:// (plain http is accepted only for 127.0.0.0/8, ::1 and localhost)", shown)
		}
	default:
		return nil, fmt.Errorf("port client: PORT_API_URL %q is not an http(s) URL", shown)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("port client: PORT_API_URL %q has no host", shown)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin is a URL's scheme, host and port, the port made explicit so that
// https://h and https://h:443 compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "443"
		if scheme == "http" {
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}

type noRedirectKey struct{}

// maxRedirects is Go's default limit, kept for same-origin redirects.
const maxRedirects = 10

// redirectPolicy is the client's CheckRedirect. The token request follows
// no redirect at all: its body is the client id and secret, and Go re-posts
// a body on 307 and 308, to any host. Every other request follows only
// redirects to the configured origin (scheme, host and port), so that the
// bearer token goes nowhere else (Go keeps the Authorization header on a
// redirect to the same host name on another port). then, the caller's own
// policy, is consulted after these checks.
func redirectPolicy(base string, then func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		to := req.URL.Scheme + "://" + req.URL.Host
		switch {
		case req.Context().Value(noRedirectKey{}) != nil:
			return &redirectError{status: status, location: to, reason: "the token request carries the client secret and follows no redirect"}
		case origin(req.URL) != base:
			return &redirectError{status: status, location: to, reason: "not followed: it leaves the origin of PORT_API_URL (" + base + ")"}
		case len(via) >= maxRedirects:
			return &redirectError{status: status, location: to, reason: fmt.Sprintf("not followed: stopped after %d redirects", maxRedirects)}
		}
		if then != nil {
			return then(req, via)
		}
		return nil
	}
}

// redirectError is a redirect the client refused to follow. It names only
// the scheme and host the redirect pointed to: never the answer's body, nor
// the target's path or query.
type redirectError struct {
	method, path string
	status       int
	location     string
	reason       string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("port %s %s: Port answered %d, a redirect to %s; %s (check PORT_API_URL)",
		e.method, e.path, e.status, e.location, e.reason)
}
