package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/port"
)

// The first token request's failure is told apart: rejected credentials
// and a wrong URL stop every command, an outage stops only one-shot ones.
func TestCheckAuthenticationTellsCredentialsFromURLFromOutage(t *testing.T) {
	tokenErr := func(status int) error {
		return fmt.Errorf("token: %w", &port.APIError{StatusCode: status, Method: "POST", Path: "/v1/auth/access_token"})
	}
	cases := []struct {
		name    string
		err     error
		oneShot bool
		want    AuthOutcome
		errHas  []string // empty: no error
		warns   bool
	}{
		{"token issued", nil, true, AuthOK, nil, false},
		{"401 rejected", tokenErr(401), false, AuthRejected, []string{"credentials from the environment rejected by Port", "401"}, false},
		{"403 rejected", tokenErr(403), true, AuthRejected, []string{"rejected by Port", "403"}, false},
		{"404 wrong URL", tokenErr(404), false, AuthRefused, []string{"Port at https://port.example refused the token request (check PORT_API_URL)"}, false},
		{"400 refused", tokenErr(400), true, AuthRefused, []string{"refused the token request"}, false},
		{"503 stops a one-shot command", tokenErr(503), true, AuthUnavailable, []string{"no answer from Port at https://port.example", "503"}, false},
		{"503 lets a service start", tokenErr(503), false, AuthUnavailable, nil, true},
		{"429 lets a service start", tokenErr(429), false, AuthUnavailable, nil, true},
		{"deadline stops a one-shot command", context.DeadlineExceeded, true, AuthUnavailable, []string{"no answer from Port"}, false},
	}
	if len(cases) < 9 {
		t.Fatalf("%d cases, want at least 9", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClassifyAuthError(c.err); got != c.want {
				t.Errorf("ClassifyAuthError(%v) = %d, want %d", c.err, got, c.want)
			}
			var logs bytes.Buffer
			err := CheckAuthentication(c.err, "the environment", "https://port.example", c.oneShot, slog.New(slog.NewTextHandler(&logs, nil)))
			switch {
			case len(c.errHas) == 0 && err != nil:
				t.Fatalf("error %v, want none", err)
			case len(c.errHas) > 0 && err == nil:
				t.Fatalf("no error, want one with %q", c.errHas)
			}
			for _, want := range c.errHas {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if c.err != nil && err != nil && !errors.Is(err, c.err) && !errors.Is(err, errors.Unwrap(c.err)) {
				t.Errorf("error %v does not wrap %v", err, c.err)
			}
			if got := strings.Contains(logs.String(), "Port unavailable at start; writes will retry"); got != c.warns {
				t.Errorf("warned %v, want %v: %q", got, c.warns, logs.String())
			}
		})
	}
}

func TestCheckAuthenticationDefaultsTheURLInItsMessage(t *testing.T) {
	err := CheckAuthentication(&port.APIError{StatusCode: 404}, "x", "", true, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), port.DefaultBaseURL) {
		t.Fatalf("error %v, want it to name %s", err, port.DefaultBaseURL)
	}
}
