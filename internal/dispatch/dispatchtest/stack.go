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

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

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

	opts   Options
	mapper *mapping.Mapper
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
	// UnitTimeout is the handler's (default 20 s).
	UnitTimeout time.Duration
	// CCJitter, when set, delays every Cloud Control answer after the state
	// was read (cloudcontrol.Jitter): stale answers for convergence tests.
	CCJitter *cloudcontrol.Jitter
	// Config, when set, is the exporter config (YAML) instead of config.yaml,
	// and Blueprints the JSON array of blueprints instead of blueprints.json:
	// for tests of kinds the shared config does not hold, which would change
	// the shards every full-sync test of the shared config counts.
	Config     []byte
	Blueprints []byte
	// Continuations, when set, are the handler's (shard runs in segments).
	Continuations *dispatch.Continuations
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
	client, err := port.New(port.Config{
		BaseURL: portSrv.URL, ClientID: double.ClientID(), ClientSecret: double.ClientSecret(), RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{CC: cc, CCURL: ccSrv.URL, Port: double, PortURL: portSrv.URL, PortClient: client, opts: opts, mapper: mapper}
	if opts.CCJitter != nil {
		jittered := httptest.NewServer(cc.JitteredHandler(*opts.CCJitter))
		t.Cleanup(jittered.Close)
		s.CCURL = jittered.URL
	}
	s.Controller, s.Handler, s.ShardKey = s.replica(t)
	return s
}

// Replica builds another controller and handler over the same Cloud Control
// and Port, with its own locks, caches and clients: a second process of the
// exporter (a replica of serve, a concurrent Lambda container).
func (s *Stack) Replica(t testing.TB) *dispatch.Handler {
	t.Helper()
	_, h, _ := s.replica(t)
	return h
}

func (s *Stack) replica(t testing.TB) (*controller.Controller, *dispatch.Handler, *events.ShardKey) {
	t.Helper()
	opts, mapper := s.opts, s.mapper
	reader := source.NewCloudControl(aws.Config{
		Region:       "eu-west-1",
		Credentials:  awscreds.NewStaticCredentialsProvider("AKIDEMULATED", "emulated-secret", ""),
		BaseEndpoint: aws.String(s.CCURL),
	}, source.Options{RequestsPerSecond: -1, MaxRetries: 1, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond})
	retries := opts.PortRetries
	if retries == 0 {
		retries = 1
	}
	client, err := port.New(port.Config{
		BaseURL: s.PortURL, ClientID: s.Port.ClientID(), ClientSecret: s.Port.ClientSecret(),
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
	unitTimeout := opts.UnitTimeout
	if unitTimeout == 0 {
		unitTimeout = 20 * time.Second
	}
	handler, err := dispatch.New(ctl, dispatch.Options{ShardKey: key, Concurrency: concurrency, DryRun: opts.DryRun, Logger: opts.Logger,
		UnitTimeout: unitTimeout, Verifier: opts.Verifier, VerifyDelay: opts.VerifyDelay, Continuations: opts.Continuations})
	if err != nil {
		t.Fatal(err)
	}
	return ctl, handler, key
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
