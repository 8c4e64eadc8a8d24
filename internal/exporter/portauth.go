package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/port-labs/port-aws-exporter/internal/credentials"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/port"
)

// ServiceAuthWait bounds how long serve and Lambda wait for Port's first
// token at start; the fetch goes on in the background.
const ServiceAuthWait = 5 * time.Second

// newPortClient builds the Port client, and the shard-message key derived
// from its secret (the one secret every runtime of the exporter holds and
// nothing that can write to the queue does; the secret itself goes no further).
func newPortClient(ctx context.Context, awsCfg aws.Config, opts Options, log *slog.Logger, latency *upsertLatency) (*port.Client, *events.ShardKey, error) {
	id, secret, baseURL := opts.Port.ClientID, opts.Port.ClientSecret, opts.Port.BaseURL
	from := "the command's settings"
	if id == "" {
		creds, err := credentials.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg))
		if err != nil {
			return nil, nil, err
		}
		id, secret, from = creds.ClientID, creds.ClientSecret, creds.Source
		log.Info("Port credentials loaded", "from", creds.Source)
	}
	if baseURL == "" {
		baseURL = os.Getenv("PORT_API_URL")
	}
	cfg := port.Config{
		BaseURL:           baseURL,
		ClientID:          id,
		ClientSecret:      secret,
		RequestsPerSecond: opts.Sync.PortRequestsPerSecond,
		Logger:            log,
	}
	if opts.Sync.PortUnpaced {
		cfg.RequestsPerSecond = -1 // the Port client's "unpaced"
	}
	if opts.Metrics != nil {
		cfg.OnPace = opts.Metrics.PortPace
	}
	cfg.Observe = func(route string, status int, d time.Duration) {
		if opts.Metrics != nil {
			opts.Metrics.PortRequest(route, status, d)
		}
		if route == "bulk_upsert" && status/100 == 2 {
			latency.observe(d)
		}
	}
	client, err := port.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	key, err := events.NewShardKey(secret)
	if err != nil {
		return nil, nil, err
	}
	authCtx := ctx
	if !opts.OneShot {
		// A service must not wait out the whole retry budget of a Port
		// outage before it serves /healthz and consumes events.
		var cancel context.CancelFunc
		authCtx, cancel = context.WithTimeout(ctx, ServiceAuthWait)
		defer cancel()
	}
	if err := CheckAuthentication(client.Authenticate(authCtx), from, baseURL, opts.OneShot, log); err != nil {
		return nil, nil, err
	}
	return client, key, nil
}

// AuthOutcome is what a failed first token request means for a command.
type AuthOutcome int

const (
	// AuthOK: Port issued a token.
	AuthOK AuthOutcome = iota
	// AuthRejected: Port answered 401 or 403: the credentials are wrong.
	AuthRejected
	// AuthRefused: any other permanent answer (a 404 from a wrong
	// PORT_API_URL, a 400): the URL or the request is wrong.
	AuthRefused
	// AuthUnavailable: no answer, or a transient one (5xx, 429, timeout):
	// Port is having an outage.
	AuthUnavailable
)

// ClassifyAuthError tells rejected credentials from a wrong URL from an outage.
func ClassifyAuthError(err error) AuthOutcome {
	if err == nil {
		return AuthOK
	}
	var apiErr *port.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
		return AuthRejected
	case !port.IsTransient(err):
		return AuthRefused
	default:
		return AuthUnavailable
	}
}

// CheckAuthentication turns the first token request's error into the
// command's: credentials Port rejects would fail every write of a sync that
// first reads the whole account, so they stop every command; so does a URL
// that is not Port's. A Port outage stops a one-shot command too; a service
// (oneShot false) only warns, since its writes retry and serve keeps
// consuming: CheckAuthentication then logs a warning and returns nil. from
// says where the credentials came from (never the credentials themselves).
func CheckAuthentication(err error, from, baseURL string, oneShot bool, log *slog.Logger) error {
	url := cmp.Or(baseURL, port.DefaultBaseURL)
	switch ClassifyAuthError(err) {
	case AuthOK:
		return nil
	case AuthRejected:
		return fmt.Errorf("credentials from %s rejected by Port: %w", from, err)
	case AuthRefused:
		return fmt.Errorf("Port at %s refused the token request (check PORT_API_URL): %w", url, err)
	}
	if oneShot {
		return fmt.Errorf("no answer from Port at %s: %w", url, err)
	}
	log.Warn("Port unavailable at start; writes will retry", "error", err)
	return nil
}
