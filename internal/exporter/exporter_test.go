package exporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/target"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

const lambdaConfig = `{"resources": [{"kind": "AWS::Lambda::Function",
  "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "\"lambda\""}]}}}]}`

// testbedOptions aim Build at the Cloud Control emulator and the Port double.
func testbedOptions(t *testing.T) (Options, *cloudcontrol.Emulator, *portapi.Server) {
	t.Helper()
	emu, err := cloudcontrol.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	double := portapi.New(portapi.Options{})
	t.Cleanup(double.Close)
	if err := double.AddBlueprint([]byte(`{"identifier": "lambda", "title": "Lambda", "schema": {"properties": {}}}`)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(lambdaConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := valid()
	s.MaxDeleteShare = 0
	return Options{
		ConfigLocation: cfg, NeedPort: true, OneShot: true, AccountID: emu.AccountID(), Sync: s,
		Port: port.Config{BaseURL: double.URL(), ClientID: double.ClientID(), ClientSecret: double.ClientSecret()},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion("us-east-1"),
			awsconfig.WithBaseEndpoint(srv.URL),
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDTEST", "test", ""))),
		},
	}, emu, double
}

// Build hands the settings to the core as given (a share of 0 stays 0),
// writes to Port, and the sync it wires lands the emulator's functions.
func TestBuildWiresTheSettingsAsGiven(t *testing.T) {
	opts, emu, double := testbedOptions(t)
	opts.Events = &EventSettings{Concurrency: 3, Timeout: 20 * time.Second}
	b, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if set := b.Controller.Settings(); set.MaxDeleteShare != 0 || set.Concurrency != 4 || set.Policy != opts.Sync.Policy {
		t.Errorf("controller: share %v, concurrency %d, policy %v; want 0, 4, %v", set.MaxDeleteShare, set.Concurrency, set.Policy, opts.Sync.Policy)
	}
	if _, ok := b.Controller.Target().(*target.Port); !ok {
		t.Errorf("target %T, want Port", b.Controller.Target())
	}
	if b.Events == nil || b.Events.Concurrency() != 3 {
		t.Fatalf("events handler %+v, want concurrency 3", b.Events)
	}
	if b.ShardKey == nil {
		t.Error("no shard key although Port credentials are set")
	}
	report, err := b.Controller.Run(context.Background())
	if err != nil || !report.OK() {
		t.Fatalf("sync: %v, report ok %v", err, report.OK())
	}
	want := len(emu.Resources("us-east-1", "AWS::Lambda::Function"))
	if got := len(double.Entities("lambda")); want == 0 || got != want {
		t.Errorf("Port holds %d lambda entities, want %d", got, want)
	}
}

// Without Port, the sync writes where Options.Target says, made only once
// everything else is built; an invalid setting stops Build before any of it.
func TestBuildWithoutPort(t *testing.T) {
	opts, _, _ := testbedOptions(t)
	opts.NeedPort = false
	made := 0
	opts.Target = func() (controller.Target, error) { made++; return &target.DryRun{}, nil }
	b, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if made != 1 || b.Port != nil || b.Events != nil {
		t.Errorf("target made %d times, Port %v, events %v; want once, none, none", made, b.Port, b.Events)
	}

	opts.Sync.Concurrency = 0
	made = 0
	if _, err := Build(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "concurrency 0") {
		t.Fatalf("Build with concurrency 0: %v, want refused", err)
	}
	if made != 0 {
		t.Error("the target was made although Build was refused")
	}
}

// Credentials Port rejects stop Build, naming where they came from.
func TestBuildStopsOnRejectedCredentials(t *testing.T) {
	opts, _, _ := testbedOptions(t)
	opts.Port.ClientSecret = "wrong-secret"
	_, err := Build(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "credentials from the command's settings rejected by Port") {
		t.Fatalf("Build: %v, want rejected credentials", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Error("the secret is in the error")
	}
}
