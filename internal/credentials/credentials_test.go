package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

type secretCase struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Want  string `json:"want"`
	Error string `json:"error"`
}

func loadCases(t testing.TB) []secretCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []secretCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("testdata/secrets.yaml: %v", err)
	}
	return cases
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadFromEnvironment(t *testing.T) {
	ctx := context.Background()
	creds, err := Load(ctx, env(map[string]string{EnvClientID: "id-1", EnvClientSecret: "sec-1", EnvSecretARN: "arn:ignored"}), nil)
	if err != nil || creds.ClientID != "id-1" || creds.ClientSecret != "sec-1" {
		t.Fatalf("got %v, %v", creds, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvClientID: "id-1"}, EnvClientSecret + " is not"},
		{map[string]string{EnvClientSecret: "sec-only"}, EnvClientID + " is not"},
		{map[string]string{}, EnvSecretARN},
		{map[string]string{EnvSecretARN: "arn:aws:secretsmanager:eu-west-1:1:secret:x"}, "no Secrets Manager client"},
	} {
		_, err := Load(ctx, env(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want it to mention %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "sec-only") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	if _, err := Load(ctx, env(nil), nil); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("nothing set: %v, want ErrNotConfigured", err)
	}
}

// minSecretCases is how many cases testdata/secrets.yaml held when this
// floor was set: a table emptied or cut short by mistake fails here instead
// of passing with nothing checked.
const minSecretCases = 16

func TestParseSecretCases(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < minSecretCases {
		t.Fatalf("testdata/secrets.yaml has %d cases, want at least %d", len(cases), minSecretCases)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			creds, err := parseSecret([]byte(tc.Value))
			if tc.Error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("error %v, want one containing %q", err, tc.Error)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil || creds.ClientID != tc.Want || creds.ClientSecret != "s3cr3t-1" {
				t.Fatalf("got %+v, %v; want id %q", creds.ClientID, err, tc.Want)
			}
		})
	}
}

func TestFormattingNeverShowsTheSecret(t *testing.T) {
	creds := Credentials{ClientID: "id-1", ClientSecret: "very-secret-value", Source: "$PORT_CLIENT_ID/$PORT_CLIENT_SECRET"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", "credentials", creds)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("loaded", "credentials", creds)
	for _, s := range []string{fmt.Sprint(creds), fmt.Sprintf("%v %+v %#v %s", creds, creds, creds, creds), logs.String()} {
		if strings.Contains(s, creds.ClientSecret) {
			t.Errorf("secret shown in %q", s)
		}
		if !strings.Contains(s, "id-1") {
			t.Errorf("client id missing from %q", s)
		}
	}
}

// TestLoadFromSecretsManager reads the secret through the real SDK from
// moto_server's Secrets Manager.
func TestLoadFromSecretsManager(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(srv.AWSConfig(ctx, "eu-west-1"))
	create := func(name string, in secretsmanager.CreateSecretInput) string {
		t.Helper()
		in.Name = aws.String(name)
		out, err := sm.CreateSecret(ctx, &in)
		if err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
		return aws.ToString(out.ARN)
	}
	portFormat := create("port-creds", secretsmanager.CreateSecretInput{SecretString: aws.String(`{"id":"moto-id","clientSecret":"moto-secret-value"}`)})
	binary := create("port-creds-binary", secretsmanager.CreateSecretInput{SecretBinary: []byte(`{"clientId":"bin-id","clientSecret":"moto-secret-value"}`)})
	broken := create("port-creds-broken", secretsmanager.CreateSecretInput{SecretString: aws.String(`clientSecret=moto-secret-value`)})

	creds, err := Load(ctx, env(map[string]string{EnvSecretARN: portFormat}), sm)
	if err != nil || creds.ClientID != "moto-id" || creds.ClientSecret != "moto-secret-value" || creds.Source != portFormat {
		t.Fatalf("port format: %v, %v", creds, err)
	}
	creds, err = Load(ctx, env(map[string]string{EnvSecretARN: binary}), sm)
	if err != nil || creds.ClientID != "bin-id" {
		t.Fatalf("binary secret: %v, %v", creds, err)
	}
	_, err = Load(ctx, env(map[string]string{EnvSecretARN: broken}), sm)
	if err == nil || !strings.Contains(err.Error(), broken) || strings.Contains(err.Error(), "moto-secret-value") {
		t.Fatalf("broken secret: %v, want an error naming the ARN and not the value", err)
	}
	missing := strings.Replace(portFormat, "port-creds", "no-such-secret", 1)
	_, err = Load(ctx, env(map[string]string{EnvSecretARN: missing}), sm)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("missing secret: %v, want ResourceNotFound naming the ARN", err)
	}
}

// FuzzParseSecret: the error for a secret value never depends on its
// clientSecret, so it cannot carry it; and a success returns exactly it.
func FuzzParseSecret(f *testing.F) {
	for _, tc := range loadCases(f) {
		f.Add([]byte(tc.Value))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		creds, err := parseSecret(raw)
		var fields map[string]any
		if json.Unmarshal(bytes.TrimSpace(raw), &fields) != nil || fields == nil {
			if err == nil {
				t.Fatalf("accepted a value that is not a JSON object: %q", raw)
			}
			return
		}
		secret, isString := fields["clientSecret"].(string)
		if err == nil && (!isString || creds.ClientSecret != secret || secret == "") {
			t.Fatalf("success with secret %q from %q", creds.ClientSecret, raw)
		}
		if !isString || secret == "" {
			return
		}
		fields["clientSecret"] = "other-" + secret
		again, _ := json.Marshal(fields)
		fields["clientSecret"] = secret
		same, _ := json.Marshal(fields)
		_, err1 := parseSecret(same)
		_, err2 := parseSecret(again)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("error depends on the secret: %v vs %v", err1, err2)
		}
	})
}
