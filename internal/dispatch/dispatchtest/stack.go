// Package eventstest assembles the whole event path for tests over real wire
// protocols: the Cloud Control emulator behind the AWS SDK and the source
// reader, the Port double behind the Port client and the Port target, and the
// events Reconciler and Handler on top, with the config in config.yaml and
// the blueprints in blueprints.json.
package eventstest

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
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
	Reconciler *events.Reconciler
	Handler    *events.Handler
	// Syncer is the full sync over the same emulator, client and config;
	// Handler syncs shard messages with it.
	Syncer *controller.Syncer
}

// Options shape a Stack.
type Options struct {
	// PortRetries is the Port client's retry budget per request (default 1).
	PortRetries int
	// PortMiddleware, when set, wraps the Port double's HTTP handler, e.g. to
	// fail the requests of one blueprint only.
	PortMiddleware func(http.Handler) http.Handler
	// Concurrency is the Handler's (default events.DefaultConcurrency).
	Concurrency int
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
	tgt := target.NewPort(client, port.UpsertOptions{}, port.DeleteOptions{})
	rec := &events.Reconciler{Mapper: mapper, Source: reader, Target: tgt, Search: client, AccountID: AccountID, DefaultRegion: "eu-west-1"}
	syncer := &controller.Syncer{Mapper: mapper, Source: reader, Target: tgt, AccountID: AccountID, DefaultRegion: "eu-west-1", Concurrency: 2}
	return &Stack{
		CC: cc, CCURL: ccSrv.URL, Port: double, PortURL: portSrv.URL, PortClient: client, Reconciler: rec, Syncer: syncer,
		Handler: &events.Handler{Reconciler: rec, Shards: events.SyncerShards{Syncer: syncer}, Concurrency: opts.Concurrency},
	}
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
