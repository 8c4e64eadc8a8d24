// Package dispatchtest assembles the whole event path for tests over real
// wire protocols: the Cloud Control emulator behind the AWS SDK and the
// source reader, the Port double behind the Port client and the Port target,
// and the controller and dispatch Handler on top, with the config in
// config.yaml and the blueprints in blueprints.json.
package dispatchtest

import (
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// AccountID is the account the stack's writes are made for.
const AccountID = "123456789012"

//go:embed config.yaml
var configYAML []byte

//go:embed blueprints.json
var blueprintsJSON []byte

// Stack is one event path.
type Stack struct {
	CC         *cloudcontrol.Emulator
	CCURL      string
	Port       *portapi.Server
	PortURL    string
	PortClient *port.Client
	// Controller is the one reconcile path over the emulator and the double;
	// Handler dispatches messages to it.
	Controller *controller.Controller
	Handler    *dispatch.Handler
	// ShardKey signs shard messages the Handler accepts.
	ShardKey *events.ShardKey
}

// Options shape a Stack.
type Options struct {
	// PortRetries is the Port client's retry budget per request (default 1).
	PortRetries int
	// PortMiddleware, when set, wraps the Port double's HTTP handler, e.g. to
	// fail the requests of one blueprint only.
	PortMiddleware func(http.Handler) http.Handler
	// Concurrency is the Handler's (default dispatch.DefaultConcurrency).
	Concurrency int
	// Policy is the controller's (default plan.Sync).
	Policy plan.Policy
	// DryRun makes the target a dry-run recorder over the Port registry.
	DryRun bool
	// Logger is the handler's and controller's (default slog.Default()).
	Logger *slog.Logger
	// Verifier and VerifyDelay: the handler's verifications (none by default).
	Verifier    dispatch.Verifier
	VerifyDelay time.Duration
	// Config, when set, is the exporter config (YAML) instead of config.yaml,
	// and Blueprints the JSON array of blueprints instead of blueprints.json:
	// for tests of kinds the shared config does not hold, which would change
	// the shards every full-sync test of the shared config counts.
	Config     []byte
	Blueprints []byte
}

// ConfigYAML returns the stack's exporter config.
func ConfigYAML() []byte { return append([]byte(nil), configYAML...) }

// New builds a Stack whose servers stop when the test ends.
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	cfgYAML, bpsJSON := configYAML, blueprintsJSON
	if opts.Config != nil {
		cfgYAML = opts.Config
	}
	if opts.Blueprints != nil {
		bpsJSON = opts.Blueprints
	}
	cfg, err := config.Parse(cfgYAML, config.YAML)
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

	double := portapi.NewHandler(portapi.Options{})
	var h http.Handler = double
	if opts.PortMiddleware != nil {
		h = opts.PortMiddleware(h)
	}
	portSrv := httptest.NewServer(h)
	t.Cleanup(portSrv.Close)
	var bps []json.RawMessage
	if err := json.Unmarshal(bpsJSON, &bps); err != nil {
		t.Fatal(err)
	}
	for _, bp := range bps {
		if err := double.AddBlueprint(bp); err != nil {
			t.Fatal(err)
		}
	}
	retries := opts.PortRetries
	if retries == 0 {
		retries = 1
	}
	client, err := port.New(port.Config{
		BaseURL: portSrv.URL, ClientID: double.ClientID(), ClientSecret: double.ClientSecret(),
		Retries: retries, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var tgt controller.Target = target.NewPort(client, port.UpsertOptions{}, port.DeleteOptions{})
	if opts.DryRun {
		tgt = &target.DryRun{Registry: registry.Port{Client: client}}
	}
	policy := opts.Policy
	if policy == nil {
		policy = plan.Sync{}
	}
	ctl, err := controller.New(controller.Parts{Mapper: mapper, Source: reader, Target: tgt, AccountID: AccountID, DefaultRegion: "eu-west-1", Logger: opts.Logger},
		controller.Settings{Concurrency: 2, WriteConcurrency: 16, Policy: policy, MaxDeleteShare: 0.5, ProofListingTTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	key, err := events.NewShardKey("dispatchtest: the secret shard messages are signed with")
	if err != nil {
		t.Fatal(err)
	}
	concurrency := opts.Concurrency
	if concurrency == 0 {
		concurrency = dispatch.DefaultConcurrency
	}
	handler, err := dispatch.New(ctl, dispatch.Options{ShardKey: key, Concurrency: concurrency, DryRun: opts.DryRun, Logger: opts.Logger,
		UnitTimeout: 20 * time.Second, Verifier: opts.Verifier, VerifyDelay: opts.VerifyDelay})
	if err != nil {
		t.Fatal(err)
	}
	return &Stack{
		CC: cc, CCURL: ccSrv.URL, Port: double, PortURL: portSrv.URL, PortClient: client, Controller: ctl, Handler: handler, ShardKey: key,
	}
}

// Datasource is the $datasource the exporter's writes for a shard of the
// stack's account leave: put entities with it to make them the exporter's own.
func Datasource(region, kind string) string {
	return registry.UserAgent(source.Shard{AccountID: AccountID, Region: region, Kind: kind})
}

// IDs lists the identifiers Port holds in blueprint, sorted.
func (s *Stack) IDs(blueprint string) []string {
	var out []string
	for _, e := range s.Port.Entities(blueprint) {
		out = append(out, e.Identifier)
	}
	return out
}

// PutFunction stores a Lambda function in the Cloud Control emulator.
func (s *Stack) PutFunction(t testing.TB, region, name string, memory int) {
	t.Helper()
	if err := s.CC.Put(region, "AWS::Lambda::Function", name, map[string]any{"FunctionName": name, "MemorySize": memory, "Runtime": "python3.12"}); err != nil {
		t.Fatal(err)
	}
}

// FunctionMessage is the body the seed's Lambda rule sends for eventName on function name.
func FunctionMessage(region, eventName, name string) []byte {
	response := name
	if strings.HasPrefix(eventName, "Delete") {
		response = "" // responseElements is null for deletes
	}
	b, _ := json.Marshal(map[string]string{
		"requestFunctionName":  name,
		"responseFunctionName": response,
		"eventName":            eventName,
		"resource_type":        "AWS::Lambda::Function",
		"region":               `"` + region + `"`,
		"identifier":           `if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end`,
		"action":               `if .eventName | startswith("Delete") then "delete" else "upsert" end`,
	})
	return b
}

// FailBlueprint answers 503 to every request on one blueprint's routes while
// *down is true: Port failing for some writes and not others.
func FailBlueprint(blueprint string, down func() bool) func(http.Handler) http.Handler {
	prefix := "/v1/blueprints/" + blueprint + "/"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down() && strings.HasPrefix(r.URL.Path, prefix) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"ok":false,"error":"service_unavailable","message":"injected by the test"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
