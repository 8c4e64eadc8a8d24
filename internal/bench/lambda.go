package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/continuation"
	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
	"github.com/port-labs/port-aws-exporter/internal/registry"
)

// ScenarioLambda30k is one shard of 30,000 resources through the Lambda
// handler, each invocation given LambdaDeadline: more than one invocation
// can list at the scenario's AWS rate, so the shard completes only through
// continuations.
const ScenarioLambda30k = "lambda-30k"

// LambdaDeadline is the invocation time of the Lambda scenario.
const LambdaDeadline = 60 * time.Second

// lambdaStale and lambdaDeletedMidRun shape the catalog the Lambda scenario
// starts from: entities of resources deleted before the run, and resources
// that a previous sync wrote and that are deleted after the run's first
// invocation, on pages not listed yet.
const (
	lambdaStale         = 100
	lambdaDeletedMidRun = 50
)

// LambdaResult is what the Lambda scenario measured.
type LambdaResult struct {
	Scenario    string        `json:"scenario"`
	Resources   int           `json:"resources"`
	Deadline    time.Duration `json:"deadline"`
	Invocations int           `json:"invocations"`
	// Redelivered counts invocations whose message was reported failed.
	Redelivered int `json:"redelivered"`
	// Wall is from the first invocation to the end of the last; Bound is
	// the AWS calls at the scenario's rate.
	Wall  time.Duration `json:"wall"`
	Bound time.Duration `json:"bound"`
	Ratio float64       `json:"ratio"`
	// Longest is the longest invocation (it must stay under Deadline).
	Longest time.Duration `json:"longest"`
	// StateInMessage / StateInStore count continuations by where their
	// state went; MaxMessageBytes is the largest continuation body.
	StateInMessage  int `json:"stateInMessage"`
	StateInStore    int `json:"stateInStore"`
	MaxMessageBytes int `json:"maxMessageBytes"`
	// Stale deletion: what had to go and went, what had to stay and stayed.
	StaleDeleted, StaleExpected int
	Missing, Extra              int
	DeletionCorrect             bool `json:"deletionCorrect"`
	Traffic
}

// RunLambda runs sc's one shard through the Lambda handler (the product's
// wiring, exporter.Build with continuations), each invocation with deadline:
// continuations go to an in-memory queue, the run's state to a directory
// store, and a message reported failed is handed back (SQS's redelivery).
func RunLambda(ctx context.Context, sc Scenario, deadline time.Duration, log *slog.Logger) (LambdaResult, error) {
	if sc.Shards() != 1 {
		return LambdaResult{}, fmt.Errorf("the Lambda scenario has one shard, %s has %d", sc.Name, sc.Shards())
	}
	tb, err := StartTestbed(sc)
	if err != nil {
		return LambdaResult{}, err
	}
	defer tb.Close()
	kind, region := sc.Kinds[0], sc.Regions[0]
	bp := Blueprint(kind)

	dir, err := os.MkdirTemp("", "port-aws-exporter-bench-continuations-")
	if err != nil {
		return LambdaResult{}, err
	}
	defer os.RemoveAll(dir)
	var (
		mu     sync.Mutex
		queue  []events.ShardRequest
		bodies []int
		res    = LambdaResult{Scenario: sc.Name, Resources: sc.Resources(), Deadline: deadline}
		key    *events.ShardKey
	)
	cs := &dispatch.Continuations{Store: &continuation.Dir{Root: dir}, Send: func(_ context.Context, req events.ShardRequest) error {
		body, _, err := key.ShardMessage(req)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		queue = append(queue, req)
		bodies = append(bodies, len(body))
		if req.Continuation.StateKey != "" {
			res.StateInStore++
		} else {
			res.StateInMessage++
		}
		return nil
	}}
	evs := cli.EventDefaults()
	evs.Continuations = cs
	b, cleanup, err := Build(ctx, tb.Endpoints(), cli.SyncDefaults(), &evs, log)
	if err != nil {
		return LambdaResult{}, err
	}
	defer cleanup()
	key = b.ShardKey
	reqs, err := dispatch.ShardRequests(b.Controller)
	if err != nil || len(reqs) != 1 {
		return LambdaResult{}, fmt.Errorf("shards of the scenario: %v %v", reqs, err)
	}
	shard := reqs[0].Shard

	// The catalog before the run: stale entities of the shard, the entities
	// of the resources deleted during the run, and one made by hand.
	owned := registry.UserAgent(shard)
	var want []string
	for i := range sc.PerShard {
		id, _ := Document(kind, region, i)
		want = append(want, id)
	}
	for i := range lambdaStale {
		tb.Port.Put(owned, entity.Entity{Blueprint: bp, Identifier: fmt.Sprintf("gone-%04d", i), Properties: map[string]any{}})
	}
	deleted := want[len(want)-lambdaDeletedMidRun:]
	for _, id := range deleted {
		tb.Port.Put(owned, entity.Entity{Blueprint: bp, Identifier: id, Properties: map[string]any{}})
	}
	want = append(want[:len(want)-lambdaDeletedMidRun:len(want)-lambdaDeletedMidRun], "made-by-hand")
	tb.Port.Put("Port UI", entity.Entity{Blueprint: bp, Identifier: "made-by-hand", Properties: map[string]any{}})
	res.StaleExpected = lambdaStale + lambdaDeletedMidRun

	h := &lambdaruntime.Handler{Batch: b.Events, ShardKey: b.ShardKey, Logger: log}
	queue = append(queue, reqs[0])
	start := time.Now()
	for n := 1; ; n++ {
		mu.Lock()
		if len(queue) == 0 {
			mu.Unlock()
			break
		}
		req := queue[0]
		queue = queue[1:]
		mu.Unlock()
		if n > 200 {
			return res, errors.New("more than 200 invocations")
		}
		body, attrs, err := key.ShardMessage(req)
		if err != nil {
			return res, err
		}
		rec := lambdaevents.SQSMessage{MessageId: "m" + strconv.Itoa(n), Body: string(body), EventSource: "aws:sqs",
			MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{}}
		for k, v := range attrs {
			rec.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		}
		ictx, cancel := context.WithTimeout(ctx, deadline)
		began := time.Now()
		resp, err := h.HandleSQS(ictx, lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{rec}})
		took := time.Since(began)
		cancel()
		if err != nil {
			return res, err
		}
		res.Invocations = n
		res.Longest = max(res.Longest, took)
		log.Info("invocation", "n", n, "took", took.Round(time.Millisecond), "failed", len(resp.BatchItemFailures))
		if len(resp.BatchItemFailures) > 0 {
			res.Redelivered++
			mu.Lock()
			queue = append(queue, req)
			mu.Unlock()
		}
		if n == 1 {
			for _, id := range deleted {
				tb.Emulator.Delete(region, kind, id)
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.Wall = time.Since(start)
	res.Traffic = tb.Traffic()
	calls := sc.PerShard + (sc.PerShard+sc.PageSize-1)/sc.PageSize
	if sc.TrustList {
		calls = (sc.PerShard + sc.PageSize - 1) / sc.PageSize
	}
	res.Bound = time.Duration(float64(calls) / sc.AWSRate * float64(time.Second))
	res.Ratio = float64(res.Wall) / float64(res.Bound)
	for _, n := range bodies {
		res.MaxMessageBytes = max(res.MaxMessageBytes, n)
	}
	var got []string
	for _, e := range tb.Port.Entities(bp) {
		got = append(got, e.Identifier)
	}
	slices.Sort(got)
	slices.Sort(want)
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			res.Missing++
		}
	}
	for _, id := range got {
		if _, ok := slices.BinarySearch(want, id); !ok {
			res.Extra++
		}
	}
	res.StaleDeleted = res.StaleExpected - res.Extra
	res.DeletionCorrect = res.Missing == 0 && res.Extra == 0
	return res, nil
}
