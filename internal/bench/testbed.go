package bench

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// Testbed is the AWS and Port side of a scenario: the Cloud Control emulator
// behind a RegionLimiter on a loopback port, and the Port double.
type Testbed struct {
	Scenario Scenario
	Emulator *cloudcontrol.Emulator
	Limiter  *RegionLimiter
	Port     *portapi.Server
	awsURL   string
	awsHTTP  *http.Server
	awsDone  chan struct{}
}

// StartTestbed loads the scenario's resources into an emulator, serves it
// behind the per-region limiter, and starts a Port double with the
// scenario's blueprints, latency and rate limit. Close stops both.
func StartTestbed(sc Scenario) (*Testbed, error) {
	emu := cloudcontrol.New()
	emu.SetPageSize(sc.PageSize)
	for _, region := range sc.Regions {
		for _, kind := range sc.Kinds {
			for i := range sc.PerShard {
				id, props := Document(kind, region, i)
				if err := emu.Put(region, kind, id, props); err != nil {
					return nil, fmt.Errorf("load %s %s into the emulator: %w", kind, id, err)
				}
			}
		}
	}
	emu.SetLatency(sc.AWSLatency)
	// One second of burst: a bucket that lets a client at the exact rate
	// through without throttling, and punishes anything faster.
	limiter := NewRegionLimiter(emu, sc.AWSRate, int(sc.AWSRate))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the rate-limited cloud control emulator: %w", err)
	}
	tb := &Testbed{
		Scenario: sc, Emulator: emu, Limiter: limiter,
		awsURL:  "http://" + l.Addr().String(),
		awsHTTP: &http.Server{Handler: limiter, ReadHeaderTimeout: 10 * time.Second},
		awsDone: make(chan struct{}),
	}
	go func() {
		defer close(tb.awsDone)
		_ = tb.awsHTTP.Serve(l) // http.ErrServerClosed once Close runs
	}()
	tb.Port = portapi.New(portapi.Options{
		Latency:   sc.PortLatency,
		RateLimit: portapi.RateLimit{Limit: sc.PortRate, Period: time.Second},
	})
	for _, kind := range sc.Kinds {
		if err := tb.Port.AddBlueprint(BlueprintJSON(kind)); err != nil {
			tb.Close()
			return nil, fmt.Errorf("create the %s blueprint in the Port double: %w", Blueprint(kind), err)
		}
	}
	return tb, nil
}

// Close stops the emulator's server and the Port double.
func (tb *Testbed) Close() {
	_ = tb.awsHTTP.Close()
	<-tb.awsDone
	tb.Port.Close()
}

// Endpoints say where an exporter finds the testbed.
type Endpoints struct {
	AWSURL       string
	PortURL      string
	ClientID     string
	ClientSecret string
	AccountID    string
	Region       string
	// Config is the exporter's config.json for the scenario.
	Config []byte
	// AWSRate and PortRate are the limits the exporter is told to pace at,
	// as a user sets --aws-requests-per-second and --port-requests-per-second.
	AWSRate  float64
	PortRate float64
	// QueueURL and DeadLetterURL are the events queues of the organization
	// scenario, where the Lambda fan-out sends its shard messages.
	QueueURL, DeadLetterURL string `json:",omitempty"`
}

// Endpoints returns what an exporter needs to sync against this testbed.
func (tb *Testbed) Endpoints() Endpoints {
	return Endpoints{
		AWSURL: tb.awsURL, PortURL: tb.Port.URL(),
		ClientID: tb.Port.ClientID(), ClientSecret: tb.Port.ClientSecret(),
		AccountID: AccountID, Region: tb.Scenario.Regions[0],
		Config:  ConfigJSON(tb.Scenario),
		AWSRate: tb.Scenario.AWSRate, PortRate: float64(tb.Scenario.PortRate),
	}
}

// AWSConfig is an SDK configuration aimed at the limited emulator with
// dummy static credentials; it ignores the environment, so real
// credentials are never used.
func (ep Endpoints) AWSConfig() aws.Config {
	return aws.Config{
		Region:       ep.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", ""),
		BaseEndpoint: aws.String(ep.AWSURL),
	}
}

// Traffic is what both sides of the testbed received.
type Traffic struct {
	// AWSRequests counts every Cloud Control request, throttled ones included.
	AWSRequests  int `json:"awsRequests"`
	AWSThrottled int `json:"awsThrottled"`
	// PortRequests counts every Port request but the token route's;
	// PortBulkUpserts, PortSingleWrites and Port429 are subsets of it.
	PortRequests     int `json:"portRequests"`
	PortBulkUpserts  int `json:"portBulkUpserts"`
	PortSingleWrites int `json:"portSingleWrites"`
	Port429          int `json:"port429"`
	PortMaxInFlight  int `json:"portMaxInFlight"`
}

// Traffic reads the counters of both sides.
func (tb *Testbed) Traffic() Traffic {
	aws := tb.Emulator.TotalCounts()
	t := Traffic{
		AWSRequests:  aws.Calls + tb.Limiter.Throttled(),
		AWSThrottled: aws.Throttled + tb.Limiter.Throttled(),
	}
	portTraffic(tb.Port, &t)
	return t
}

// portTraffic adds the Port double's counters to t.
func portTraffic(port *portapi.Server, t *Traffic) {
	t.PortMaxInFlight = port.MaxConcurrent()
	for key, n := range port.Counts() {
		if key.Route == portapi.RouteToken {
			continue
		}
		t.PortRequests += n
		switch {
		case key.Status == http.StatusTooManyRequests:
			t.Port429 += n
		case key.Route == portapi.RouteBulkUpsert:
			t.PortBulkUpserts += n
		case key.Route == portapi.RouteUpsert:
			t.PortSingleWrites += n
		}
	}
}

// errNoResources guards against a scenario that would measure nothing.
var errNoResources = errors.New("scenario has no resources")
