package events_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const accountID = "123456789012"

// stack is the whole event path over real wire protocols: the Cloud Control
// emulator behind the AWS SDK, the Port double behind the Port client.
type stack struct {
	cc         *cloudcontrol.Emulator
	port       *portapi.Server
	reconciler *events.Reconciler
	handler    *events.Handler
}

type stackOptions struct {
	// portRetries is the Port client's retry budget per request (default 1).
	portRetries int
}

func newStack(t testing.TB, opts stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(ctx, "testdata/config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}

	cc := cloudcontrol.New()
	ccSrv, err := cc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ccSrv.Close() })
	reader := source.NewCloudControl(ccSrv.AWSConfig("eu-west-1"), source.Options{
		RequestsPerSecond: -1, MaxRetries: 1, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond,
	})

	portSrv := portapi.New(portapi.Options{})
	t.Cleanup(portSrv.Close)
	raw, err := os.ReadFile("testdata/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	var bps []json.RawMessage
	if err := json.Unmarshal(raw, &bps); err != nil {
		t.Fatal(err)
	}
	for _, bp := range bps {
		if err := portSrv.AddBlueprint(bp); err != nil {
			t.Fatal(err)
		}
	}
	retries := opts.portRetries
	if retries == 0 {
		retries = 1
	}
	client, err := port.New(port.Config{
		BaseURL: portSrv.URL(), ClientID: portSrv.ClientID(), ClientSecret: portSrv.ClientSecret(),
		Retries: retries, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &events.Reconciler{
		Mapper: mapper, Source: reader, Target: target.NewPort(client, port.UpsertOptions{}, port.DeleteOptions{}),
		AccountID: accountID, DefaultRegion: "eu-west-1",
	}
	return &stack{cc: cc, port: portSrv, reconciler: rec, handler: &events.Handler{Reconciler: rec}}
}

func (s *stack) ids(blueprint string) []string {
	var out []string
	for _, e := range s.port.Entities(blueprint) {
		out = append(out, e.Identifier)
	}
	return out
}
