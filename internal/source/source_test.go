package source_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

const (
	account    = "123456789012"
	lambdaType = "AWS::Lambda::Function"
	nodegroups = "AWS::EKS::Nodegroup"
)

// fastOptions keep retries real but quick: unpaced, millisecond backoff.
func fastOptions() source.Options {
	return source.Options{RequestsPerSecond: -1, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond}
}

func serve(t testing.TB, e *cloudcontrol.Emulator) *cloudcontrol.Server {
	t.Helper()
	srv, err := e.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func reader(t testing.TB, e *cloudcontrol.Emulator, opts source.Options) *source.CloudControl {
	t.Helper()
	return source.NewCloudControl(serve(t, e).AWSConfig("us-east-1"), opts)
}

func fill(t testing.TB, e *cloudcontrol.Emulator, region string, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("fn-%05d", i)
		if err := e.Put(region, lambdaType, id, map[string]any{"FunctionName": id, "MemorySize": 128 + i}); err != nil {
			t.Fatal(err)
		}
	}
}

// collect lists a shard and counts deliveries per identifier.
func collect(ctx context.Context, c *source.CloudControl, shard source.Shard, opts source.ListOptions) (map[string]source.Resource, map[string]int, error) {
	got := map[string]source.Resource{}
	times := map[string]int{}
	err := c.List(ctx, shard, opts, func(r source.Resource) error {
		got[r.Identifier] = r
		times[r.Identifier]++
		return nil
	})
	return got, times, err
}

func lambdaShard(region string) source.Shard {
	return source.Shard{AccountID: account, Region: region, Kind: lambdaType}
}

func assertEachOnce(t *testing.T, times map[string]int, want int) {
	t.Helper()
	if len(times) != want {
		t.Errorf("%d distinct resources delivered, want %d", len(times), want)
	}
	for id, n := range times {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

func TestShardString(t *testing.T) {
	if got := lambdaShard("eu-west-1").String(); got != "123456789012/eu-west-1/AWS::Lambda::Function" {
		t.Errorf("Shard.String() = %q", got)
	}
}

func TestListPaginatesSmallPages(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 137)
	c := reader(t, e, fastOptions())
	got, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 137)
	r := got["fn-00042"]
	if r.AccountID != account || r.Region != "eu-west-1" || r.Kind != lambdaType || r.Properties["MemorySize"] != 170 {
		t.Errorf("fn-00042 = %+v", r)
	}
	if n := e.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n != 6 {
		t.Errorf("%d ListResources calls for 137 resources in pages of 25, want 6", n)
	}
	if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != 137 {
		t.Errorf("%d GetResource calls, want 137", n)
	}
}

func TestListResourceModels(t *testing.T) {
	e := cloudcontrol.New()
	e.SetType(nodegroups, cloudcontrol.TypeConfig{RequiredModelProperties: []string{"ClusterName"}, ListProperties: []string{"Id"}})
	for _, cluster := range []string{"a", "b", "c"} {
		for _, ng := range []string{"x", "y"} {
			id := cluster + "/" + ng
			if err := e.Put("eu-west-1", nodegroups, id, map[string]any{"Id": id, "ClusterName": cluster}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := reader(t, e, fastOptions())
	ctx := context.Background()
	shard := source.Shard{AccountID: account, Region: "eu-west-1", Kind: nodegroups,
		ResourceModels: []string{`{"ClusterName":"a"}`, `{"ClusterName":"c"}`}}
	got, times, err := collect(ctx, c, shard, source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 4)
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range got {
			if !yield(id) {
				return
			}
		}
	})
	if want := []string{"a/x", "a/y", "c/x", "c/y"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	if got["c/y"].Properties["ClusterName"] != "c" {
		t.Errorf("GetResource properties missing: %v", got["c/y"].Properties)
	}

	shard.ResourceModels = nil
	_, _, err = collect(ctx, c, shard, source.ListOptions{})
	var se *source.ShardError
	if !errors.As(err, &se) || se.Reason != source.ReasonInvalidRequest || se.Shard.Kind != nodegroups {
		t.Errorf("child type without ResourceModel: %v, want ShardError InvalidRequest", err)
	}
}

func TestListVersusGetProperties(t *testing.T) {
	e := cloudcontrol.New()
	e.SetType("AWS::S3::Bucket", cloudcontrol.TypeConfig{ListProperties: []string{"BucketName"}})
	for _, name := range []string{"logs", "assets"} {
		if err := e.Put("eu-west-1", "AWS::S3::Bucket", name, map[string]any{"BucketName": name, "Arn": "arn:aws:s3:::" + name}); err != nil {
			t.Fatal(err)
		}
	}
	c := reader(t, e, fastOptions())
	shard := source.Shard{AccountID: account, Region: "eu-west-1", Kind: "AWS::S3::Bucket"}
	for _, tc := range []struct {
		trust    bool
		wantArn  bool
		wantGets int
	}{{trust: true, wantArn: false, wantGets: 0}, {trust: false, wantArn: true, wantGets: 2}} {
		e.ResetCounts()
		got, _, err := collect(context.Background(), c, shard, source.ListOptions{TrustListProperties: tc.trust})
		if err != nil {
			t.Fatal(err)
		}
		_, hasArn := got["logs"].Properties["Arn"]
		if hasArn != tc.wantArn || got["logs"].Properties["BucketName"] != "logs" {
			t.Errorf("trust=%v: properties %v, want Arn present=%v", tc.trust, got["logs"].Properties, tc.wantArn)
		}
		if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != tc.wantGets {
			t.Errorf("trust=%v: %d GetResource calls, want %d", tc.trust, n, tc.wantGets)
		}
	}
}

func TestThrottledCallsAreRetried(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 137)
	e.SetThrottle(0.3, 7)
	var observedThrottles, observedCalls atomic.Int64
	opts := fastOptions()
	opts.MaxRetries = 30 // at 30% a call fails 30 times in a row with p ≈ 2e-16
	opts.Observe = func(op, region string, err error, d time.Duration) {
		observedCalls.Add(1)
		if err != nil {
			observedThrottles.Add(1)
		}
	}
	c := reader(t, e, opts)
	_, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 137)
	total := e.TotalCounts()
	if total.Throttled == 0 {
		t.Fatal("emulator throttled nothing; the test proves nothing")
	}
	if int(observedThrottles.Load()) != total.Throttled || int(observedCalls.Load()) != total.Calls {
		t.Errorf("Observe saw %d calls, %d throttled; emulator %d calls, %d throttled",
			observedCalls.Load(), observedThrottles.Load(), total.Calls, total.Throttled)
	}
	if want := 6 + 137 + total.Throttled; total.Calls != want {
		t.Errorf("%d calls, want 6 pages + 137 gets + %d retries = %d", total.Calls, total.Throttled, want)
	}
	t.Logf("%d calls, %d throttled and retried", total.Calls, total.Throttled)
}

func TestThrottleBudgetExhausted(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 3)
	e.SetThrottle(1, 1)
	opts := fastOptions()
	opts.MaxRetries = 2
	c := reader(t, e, opts)
	_, _, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{})
	var se *source.ShardError
	if !errors.As(err, &se) || se.Reason != source.ReasonThrottled {
		t.Fatalf("always throttled: %v, want ShardError Throttled", err)
	}
	if !source.IsTransient(err) {
		t.Error("throttled past the budget must be transient")
	}
	if n := e.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n != 3 {
		t.Errorf("%d ListResources attempts with MaxRetries=2, want 3", n)
	}
}

type faultCase struct {
	Name      string `json:"name"`
	Fault     string `json:"fault"`
	Op        string `json:"op"`
	Reason    string `json:"reason"`
	Cause     string `json:"cause"`
	Calls     int    `json:"calls"`
	Transient bool   `json:"transient"`
}

// reasonSentinels are what errors.Is must find for each Reason.
var reasonSentinels = map[source.Reason]error{
	source.ReasonThrottled:         source.ErrThrottled,
	source.ReasonAccessDenied:      source.ErrAccessDenied,
	source.ReasonTypeNotFound:      source.ErrTypeNotFound,
	source.ReasonUnsupportedAction: source.ErrUnsupported,
	source.ReasonInvalidRequest:    source.ErrInvalidRequest,
}

func TestFaultsPerRegion(t *testing.T) {
	data, err := os.ReadFile("testdata/faults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []faultCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("testdata/faults.yaml: %v", err)
	}
	if len(cases) < 10 {
		t.Fatalf("%d cases in testdata/faults.yaml, want at least 10", len(cases))
	}
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			e := cloudcontrol.New()
			for _, r := range regions {
				fill(t, e, r, 30)
			}
			healthy := true
			switch tc.Fault {
			case "":
			case "Throttling":
				e.SetThrottle(1, 1)
				healthy = false
			default:
				e.SetFault(cloudcontrol.Scope{Region: "eu-west-1"}, cloudcontrol.FaultKind(tc.Fault))
			}
			opts := fastOptions()
			opts.MaxRetries = 2
			c := reader(t, e, opts)
			ctx := context.Background()
			if strings.HasPrefix(tc.Op, "get") {
				id := "fn-00001"
				if tc.Op == "get-empty" {
					id = ""
				}
				_, err := c.Get(ctx, source.Shard{Region: "eu-west-1", Kind: lambdaType}, id)
				checkShardError(t, err, source.Shard{Region: "eu-west-1", Kind: lambdaType}, tc)
				if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != tc.Calls {
					t.Errorf("%d GetResource calls, want %d", n, tc.Calls)
				}
				if !healthy {
					return
				}
				if _, err := c.Get(ctx, source.Shard{Region: "us-east-1", Kind: lambdaType}, "fn-00001"); err != nil {
					t.Errorf("get in a healthy region: %v", err)
				}
				return
			}
			for _, region := range regions {
				if !healthy && region != "eu-west-1" {
					continue
				}
				_, times, err := collect(ctx, c, lambdaShard(region), source.ListOptions{})
				if region == "eu-west-1" {
					checkShardError(t, err, lambdaShard(region), tc)
					if n := e.Counts(cloudcontrol.OpListResources, region).Calls; n != tc.Calls {
						t.Errorf("%d ListResources calls, want %d", n, tc.Calls)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", region, err)
				}
				assertEachOnce(t, times, 30)
			}
		})
	}
}

func checkShardError(t *testing.T, err error, shard source.Shard, tc faultCase) {
	t.Helper()
	var se *source.ShardError
	if !errors.As(err, &se) {
		t.Fatalf("%v, want *ShardError", err)
	}
	if string(se.Reason) != tc.Reason || se.Shard.String() != shard.String() {
		t.Errorf("ShardError{%s, %s}, want {%s, %s}: %v", se.Shard, se.Reason, shard, tc.Reason, err)
	}
	if got := source.IsTransient(err); got != tc.Transient {
		t.Errorf("IsTransient = %v, want %v", got, tc.Transient)
	}
	if got := source.Cause(err); got != tc.Cause {
		t.Errorf("Cause = %q, want %q: %v", got, tc.Cause, err)
	}
	if source.IsNotFound(err) {
		t.Errorf("IsNotFound holds for %v", err)
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Errorf("no smithy.APIError under %v", err)
	}
	for reason, sentinel := range reasonSentinels {
		if got := errors.Is(err, sentinel); got != (reason == se.Reason) {
			t.Errorf("errors.Is(err, %v) = %v with Reason %s", sentinel, got, se.Reason)
		}
	}
}

func TestRepeatedNextTokenStops(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 80)
	e.SetFault(cloudcontrol.Scope{Type: lambdaType}, cloudcontrol.RepeatNextToken)
	c := reader(t, e, fastOptions())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, times, err := collect(ctx, c, lambdaShard("eu-west-1"), source.ListOptions{TrustListProperties: true})
	if !errors.Is(err, source.ErrPagination) {
		t.Fatalf("endless paginator: %v, want ErrPagination", err)
	}
	var se *source.ShardError
	if !errors.As(err, &se) || se.Reason != source.ReasonOther || source.Cause(err) != source.CauseOther {
		t.Errorf("endless paginator: %v, want ShardError Other", err)
	}
	// Page 1, then page 2 answered with page 2's token again: 50 resources seen.
	if len(times) != 50 {
		t.Errorf("%d resources before the loop was detected, want 50", len(times))
	}
}

func TestGetNotFound(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1)
	c := reader(t, e, fastOptions())
	ctx := context.Background()
	res, err := c.Get(ctx, source.Shard{Region: "eu-west-1", Kind: lambdaType}, "fn-00000")
	if err != nil || res.Identifier != "fn-00000" || res.Properties["FunctionName"] != "fn-00000" {
		t.Fatalf("Get existing = %+v, %v", res, err)
	}
	_, err = c.Get(ctx, source.Shard{Region: "eu-west-1", Kind: lambdaType}, "gone")
	if !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if source.IsTransient(err) {
		t.Error("not found must not be transient")
	}
	if !source.IsNotFound(err) || source.Cause(err) != source.CauseNotFound {
		t.Errorf("IsNotFound %v, Cause %q for %v", source.IsNotFound(err), source.Cause(err), err)
	}
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("no ResourceNotFoundException under %v", err)
	}
	if n := e.Counts(cloudcontrol.OpGetResource, "eu-west-1").Calls; n != 2 {
		t.Errorf("%d GetResource calls, want 2 (not-found is not retried)", n)
	}
}

func TestVanishedResourceIsSkipped(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 40)
	// Listed, but gone by the time GetResource asks.
	e.SetFault(cloudcontrol.Scope{Region: "eu-west-1", Type: lambdaType, Identifier: "fn-00007"}, cloudcontrol.NotFound)
	c := reader(t, e, fastOptions())
	_, times, err := collect(context.Background(), c, lambdaShard("eu-west-1"), source.ListOptions{})
	if err != nil {
		t.Fatalf("a vanished resource failed the shard: %v", err)
	}
	assertEachOnce(t, times, 39)
	if times["fn-00007"] != 0 {
		t.Error("vanished resource was delivered")
	}
}

func TestConsumerErrorStopsListing(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1000)
	c := reader(t, e, fastOptions())
	stop := errors.New("consumer is full")
	delivered := 0
	err := c.List(context.Background(), lambdaShard("eu-west-1"), source.ListOptions{}, func(source.Resource) error {
		delivered++
		if delivered == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List = %v, want the consumer's error", err)
	}
	var se *source.ShardError
	if errors.As(err, &se) {
		t.Errorf("consumer error reported as AWS failure: %v", err)
	}
	if delivered != 5 {
		t.Errorf("fn called %d times after failing at 5", delivered)
	}
	// The pager reads ahead by at most two pages of MaxResults (200 ids),
	// so it stops far short of the 40 pages of the whole listing.
	if n := e.Counts(cloudcontrol.OpListResources, "eu-west-1").Calls; n > 12 {
		t.Errorf("%d of 40 pages listed after the consumer stopped at 5 resources, want the listing to stop early", n)
	}
}

func TestNetworkFailureIsTransient(t *testing.T) {
	srv, err := cloudcontrol.New().Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.AWSConfig("eu-west-1")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	opts.MaxRetries = 1
	c := source.NewCloudControl(cfg, opts)
	_, err = c.Get(context.Background(), source.Shard{Region: "eu-west-1", Kind: lambdaType}, "x")
	if err == nil || errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get against a closed port: %v", err)
	}
	if !source.IsTransient(err) {
		t.Errorf("connection refused must be transient: %v", err)
	}
	if got := source.Cause(err); got != source.CauseOther {
		t.Errorf("Cause = %q for connection refused, want other", got)
	}
}

func TestGetConcurrencyIsBounded(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 40)
	e.SetLatency(5 * time.Millisecond)
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		e.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := (&cloudcontrol.Server{URL: srv.URL}).AWSConfig("eu-west-1")
	opts := fastOptions()
	opts.GetConcurrency = 3
	_, times, err := collect(context.Background(), source.NewCloudControl(cfg, opts), lambdaShard("eu-west-1"), source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 40)
	// Three getters plus the pager fetching the next page.
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak %d requests in flight with GetConcurrency=3, want 2..4", p)
	}
}

func TestPacingPerRegion(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1)
	fill(t, e, "us-east-1", 1)
	opts := fastOptions()
	opts.RequestsPerSecond = 100
	opts.Burst = 1
	c := reader(t, e, opts)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 21 {
				if _, err := c.Get(ctx, source.Shard{Region: region, Kind: lambdaType}, "fn-00000"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// 21 calls at 100/s with a burst of 1 cannot take less than 200 ms in a
	// region; two regions pace independently, so this is a lower bound only.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("42 calls in two regions took %s, faster than 100 requests/s per region allows", d)
	}
}

func TestPropertiesKeepNumbers(t *testing.T) {
	e := cloudcontrol.New()
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	if err := e.Put("eu-west-1", lambdaType, "n", map[string]any{"Int": 9007199254740993, "Huge": huge, "Float": 1.5, "Nested": []any{map[string]any{"N": 3}}}); err != nil {
		t.Fatal(err)
	}
	c := reader(t, e, fastOptions())
	res, err := c.Get(context.Background(), source.Shard{Region: "eu-west-1", Kind: lambdaType}, "n")
	if err != nil {
		t.Fatal(err)
	}
	if res.Properties["Int"] != 9007199254740993 {
		t.Errorf("Int = %#v, want 9007199254740993 exactly", res.Properties["Int"])
	}
	if b, ok := res.Properties["Huge"].(*big.Int); !ok || b.Cmp(huge) != 0 {
		t.Errorf("Huge = %#v, want %s", res.Properties["Huge"], huge)
	}
	if res.Properties["Float"] != 1.5 {
		t.Errorf("Float = %#v", res.Properties["Float"])
	}
	if n := res.Properties["Nested"].([]any)[0].(map[string]any)["N"]; n != 3 {
		t.Errorf("Nested N = %#v, want int 3", n)
	}
}

func TestDemoDatasetThroughSource(t *testing.T) {
	e, err := cloudcontrol.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	c := reader(t, e, fastOptions())
	ctx := context.Background()
	for _, region := range e.Regions() {
		for _, kind := range e.Types() {
			want := e.Resources(region, kind)
			shard := source.Shard{AccountID: e.AccountID(), Region: region, Kind: kind}
			if kind == nodegroups {
				if len(want) == 0 {
					continue // no cluster in this region to name in a ResourceModel
				}
				clusters := map[string]bool{}
				for _, r := range want {
					clusters[r.Properties["ClusterName"].(string)] = true
				}
				for cl := range clusters {
					shard.ResourceModels = append(shard.ResourceModels, fmt.Sprintf(`{"ClusterName":%q}`, cl))
				}
			}
			got, times, err := collect(ctx, c, shard, source.ListOptions{})
			if err != nil {
				t.Errorf("%s: %v", shard, err)
				continue
			}
			assertEachOnce(t, times, len(want))
			for _, w := range want {
				if g, ok := got[w.Identifier]; !ok || len(g.Properties) != len(w.Properties) {
					t.Errorf("%s %s: got %d properties, want %d", shard, w.Identifier, len(g.Properties), len(w.Properties))
				}
			}
		}
	}
}

func TestAccountIDFromSTS(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	id, err := source.AccountID(ctx, srv.AWSConfig(ctx, "eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	if id != moto.AccountID {
		t.Errorf("AccountID = %q, want %q", id, moto.AccountID)
	}
}

// TestEndpointFromEnvironment proves the standard SDK settings reach the
// reader: credentials from AWS_ACCESS_KEY_ID and the endpoint from
// AWS_ENDPOINT_URL_CLOUDCONTROL, as a user points it at a local peer.
func TestEndpointFromEnvironment(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 3)
	srv := serve(t, e)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDCONTROL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := source.NewCloudControl(cfg, fastOptions())
	_, times, err := collect(context.Background(), c, lambdaShard(cfg.Region), source.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, times, 3)
}

func TestPacingWaitPastDeadlineIsTransient(t *testing.T) {
	e := cloudcontrol.New()
	fill(t, e, "eu-west-1", 1)
	opts := fastOptions()
	opts.RequestsPerSecond = 0.01 // one call, then the next token in 100 s
	opts.Burst = 1
	c := reader(t, e, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Get(ctx, source.Shard{Region: "eu-west-1", Kind: lambdaType}, "fn-00000"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(ctx, source.Shard{Region: "eu-west-1", Kind: lambdaType}, "fn-00000")
	if err == nil || !source.IsTransient(err) {
		t.Errorf("second call beyond the pace and the deadline: %v, want a transient error", err)
	}
	if ctx.Err() != nil {
		t.Error("the reader waited for the deadline instead of refusing early")
	}
}
