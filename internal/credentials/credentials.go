// Package credentials finds the Port client credentials the exporter runs
// with: PORT_CLIENT_ID and PORT_CLIENT_SECRET, or else the Secrets Manager
// secret named by PORT_CREDS_SECRET_ARN, holding {"id": ..., "clientSecret": ...}
// as Port's AWS exporter stored it ("clientId" is accepted for "id").
//
// The client secret never appears in an error, a log line or a formatted
// value of Credentials.
package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Environment variables read by Load.
const (
	EnvClientID     = "PORT_CLIENT_ID"
	EnvClientSecret = "PORT_CLIENT_SECRET"
	EnvSecretARN    = "PORT_CREDS_SECRET_ARN"
)

// Credentials are a Port client id and secret.
type Credentials struct {
	ClientID     string
	ClientSecret string
	// Source says where they came from, for logs: an environment variable
	// pair or a secret's ARN.
	Source string
}

const redacted = "[redacted]"

// String shows the client id and source, never the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("Port client %q from %s (secret %s)", c.ClientID, c.Source, redacted)
}

// GoString keeps %#v from printing the secret.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps slog from printing the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("source", c.Source), slog.String("client_secret", redacted))
}

// SecretsGetter is the part of the Secrets Manager client Load needs;
// *secretsmanager.Client satisfies it.
type SecretsGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ErrNotConfigured is returned when no credentials are configured at all.
var ErrNotConfigured = errors.New("no Port credentials: set " + EnvClientID + " and " + EnvClientSecret + ", or " + EnvSecretARN)

// Load returns the credentials from the environment (read through getenv),
// or else from Secrets Manager. The variables win over the secret when both
// are set, so an operator can override a stored secret for one run.
// secrets may be nil when no secret is configured.
func Load(ctx context.Context, getenv func(string) string, secrets SecretsGetter) (Credentials, error) {
	id, secret, arn := getenv(EnvClientID), getenv(EnvClientSecret), getenv(EnvSecretARN)
	switch {
	case id != "" && secret != "":
		return Credentials{ClientID: id, ClientSecret: secret, Source: "$" + EnvClientID + "/$" + EnvClientSecret}, nil
	case id != "":
		return Credentials{}, fmt.Errorf("%s is set but %s is not", EnvClientID, EnvClientSecret)
	case secret != "":
		return Credentials{}, fmt.Errorf("%s is set but %s is not", EnvClientSecret, EnvClientID)
	case arn == "":
		return Credentials{}, ErrNotConfigured
	case secrets == nil:
		return Credentials{}, fmt.Errorf("%s is set but no Secrets Manager client was given to read it", EnvSecretARN)
	}
	return FromSecret(ctx, secrets, arn)
}

// FromSecret reads credentials from the Secrets Manager secret secretID
// (an ARN or a name).
func FromSecret(ctx context.Context, secrets SecretsGetter, secretID string) (Credentials, error) {
	out, err := secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return Credentials{}, fmt.Errorf("reading Port credentials from Secrets Manager secret %s: %w", secretID, err)
	}
	var data []byte
	switch {
	case out.SecretString != nil:
		data = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		data = out.SecretBinary
	default:
		return Credentials{}, fmt.Errorf("Secrets Manager secret %s has no value", secretID)
	}
	creds, err := parseSecret(data)
	if err != nil {
		return Credentials{}, fmt.Errorf("Secrets Manager secret %s: %w", secretID, err)
	}
	creds.Source = secretID
	return creds, nil
}

// format is how Port's exporter stores the credentials; named in errors so a
// reader knows what to fix.
const format = `{"id": "<client id>", "clientSecret": "<client secret>"}`

// parseSecret reads a secret value. Errors name fields and JSON types only:
// encoding/json's own messages may quote the input, so they are not wrapped.
func parseSecret(data []byte) (Credentials, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(data), &fields); err != nil || fields == nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return Credentials{}, fmt.Errorf("value is not valid JSON (error at byte %d); want %s", syntax.Offset, format)
		}
		return Credentials{}, fmt.Errorf("value is not a JSON object; want %s", format)
	}
	id, err := stringField(fields, "id")
	if err != nil {
		return Credentials{}, err
	}
	clientID, err := stringField(fields, "clientId")
	if err != nil {
		return Credentials{}, err
	}
	switch {
	case id != "" && clientID != "" && id != clientID:
		return Credentials{}, errors.New(`value has both "id" and "clientId", with different values`)
	case id == "":
		id = clientID
	}
	secret, err := stringField(fields, "clientSecret")
	if err != nil {
		return Credentials{}, err
	}
	var missing []string
	if id == "" {
		missing = append(missing, `"id"`)
	}
	if secret == "" {
		missing = append(missing, `"clientSecret"`)
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("value has no %s; want %s", joinAnd(missing), format)
	}
	return Credentials{ClientID: id, ClientSecret: secret}, nil
}

// stringField returns a string field, "" when absent or null.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("field %q is not valid JSON", name)
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("field %q is a %s, want a string", name, jsonType(v))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "value"
}

func joinAnd(items []string) string {
	if len(items) == 2 {
		return items[0] + " and " + items[1]
	}
	return items[0]
}
