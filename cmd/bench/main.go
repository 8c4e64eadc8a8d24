// Command bench measures the exporter against the in-repo testbed:
// go run ./cmd/bench [flags]. It is a program of its own so that the product
// binary, cmd/port-aws-exporter, links no test harness; the exporter it
// measures is wired by internal/exporter, as the product is.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/bench"
	"github.com/port-labs/port-aws-exporter/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newBenchCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// benchChildFlag makes the bench command the exporter side of a sync
// scenario: it reads the testbed's endpoints from stdin, syncs with the same
// wiring as the sync command, and prints its figures as JSON on stdout. A
// child process of its own gives the exporter a peak RSS of its own,
// separate from the testbed that holds every resource and entity.
const benchChildFlag = "exporter-child"

// benchChildInput is what the parent hands the child on stdin (never on the
// command line or in the environment, since it holds the Port double's secret).
type benchChildInput struct {
	Endpoints bench.Endpoints
	// Sync are the sync flags as the parent parsed them; the child builds
	// the settings from them as the sync command does.
	Sync cli.SyncFlags
	// PaceAWS and PacePort pace at the testbed's limits (see bench.Settings).
	PaceAWS, PacePort bool
	NoAWSCeiling      bool
	// NoPortCeiling: the Port pace has no ceiling (JSON has no infinity).
	NoPortCeiling bool
	// WriteConcurrency and GetConcurrency override the controller's and the
	// source's defaults when positive (experiments; the sync command has no such flags).
	WriteConcurrency int
	GetConcurrency   int
	// Lambda makes the child the Lambda side of the org scenario.
	Lambda *bench.OrgLambdaSettings `json:",omitempty"`
}

func newBenchCommand() *cobra.Command {
	var (
		scenarios        []string
		lambdaDeadline   time.Duration
		resources        int
		asJSON           bool
		inProcess        bool
		paceAtLimits     bool
		child            bool
		writeConcurrency int
		getConcurrency   int
		limits           bench.Scenario
		syncFlags        *cli.SyncFlags
		accounts         int
		lambda           bench.OrgLambdaSettings
	)
	cmd := cli.NewRoot("bench", "Measure full sync and mapping against the testbed with real latencies and rate limits", "")
	cmd.Long = `Bench runs the scenarios of issue 6 against the in-repo testbed: the Cloud Control emulator
behind a per-region rate limiter and the Port double with its latency and rate limit. For each
scenario it prints the wall time, the lower bound the limits and latencies impose, their ratio,
the requests made to AWS and to Port, entities per Port request and the exporter's peak RSS.

Scenarios (` + strings.Join(bench.ScenarioNames(), ", ") + `):
  full-sync       10 kinds × 4 regions × 500 resources, pages of 25, GetResource per resource,
                  AWS 50 ms and 100 requests/s per region, Port 80 ms and 117 requests/s
  full-sync-100k  the same with 2,500 per shard, for memory
  full-sync-1m    the same with 25,000 per shard (1,000,000 resources), AWS 2,000/s per region
                  and Port 2,000/s so that it runs in minutes; for peak RSS
  aws-4, aws-60, aws-400   AWS allowing 4, 60, 400 requests/s per region (issue 11)
  port-12, port-1200       Port allowing 12 and 1,200 requests/s (issue 11)
  mapping         100,000 documents through a 12-property mapping, beside the jq binary
  org-200         an AWS Organization of 200 member accounts (four OUs) × 3 regions × 5 kinds × 4
                  resources (3,000 shards, 12,000 resources) in moto, each account read through its
                  member role with an external ID; the Lambda path: the scheduled fan-out sends a shard
                  message per shard to moto's SQS, --lambda-containers containers take them ten at a
                  time; AWS allows --aws-rate per account-region; --accounts N resizes the organization
  events          runs as a Go benchmark: go test -run '^$' -bench BenchmarkEvents -benchtime 1x ./internal/bench

The sync scenarios run the exporter in a child process (its own peak RSS) with the sync
command's wiring and defaults; --concurrency and the other sync flags change them. Its pacers
are set to the testbed's limits (--aws-rate, --port-rate) unless --aws-requests-per-second or
--port-requests-per-second say otherwise.
--resources N resizes a scenario (spread over its shards, or documents for mapping).`
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		if child {
			return runBenchChild(ctx, cmd)
		}
		settings, err := syncFlags.Settings()
		if err != nil {
			return err
		}
		settings.WriteConcurrency, settings.GetConcurrency = writeConcurrency, getConcurrency
		if err := settings.Validate(); err != nil {
			return err
		}
		logger := cli.NewLogger(cmd, os.Stderr)
		var results []any
		for _, name := range scenarios {
			sc, err := bench.Named(name, resources)
			if err != nil {
				return err
			}
			overrideLimits(&sc, limits, cmd.Flags().Changed)
			if sc.Accounts > 0 && accounts > 0 {
				sc.Accounts = accounts
				if resources > 0 {
					sc.PerShard = max(1, resources/sc.AllShards())
				}
			}
			logger.Info("scenario started", "scenario", sc.Name, "resources", sc.Resources())
			var res any
			switch name {
			case bench.ScenarioMapping:
				res, err = runMappingScenario(ctx, sc)
			case bench.ScenarioOrg200:
				// The Lambda side runs in a child (its own peak RSS) with the
				// binary's defaults: no rate flag, whatever the sync flags say.
				exp := childLambda(lambda, cli.LogLevel(cmd))
				if inProcess {
					exp = func(ctx context.Context, ep bench.Endpoints) (bench.OrgLambdaRun, error) {
						return bench.RunOrgLambda(ctx, ep, lambda, logger)
					}
				}
				res, err = bench.RunOrg(ctx, sc, exp, func(elapsed time.Duration, t bench.Traffic) {
					logger.Debug("progress", "elapsed", elapsed.Round(time.Second), "aws_requests", t.AWSRequests,
						"aws_throttled", t.AWSThrottled, "port_requests", t.PortRequests, "port_429", t.Port429)
				})
			case bench.ScenarioLambda30k:
				// The Lambda handler in this process: invocations are calls
				// with a deadline, the queue and the store are in memory and
				// on disk (moto needs a testing.TB).
				res, err = bench.RunLambda(ctx, sc, lambdaDeadline, logger)
			case bench.ScenarioEvents:
				// moto_server is found and started by internal/testbed/moto, which
				// needs a testing.TB: the events scenario is a Go benchmark.
				err = errors.New("the events scenario runs as a Go benchmark (it starts moto_server): " +
					"go test -run '^$' -bench BenchmarkEvents -benchtime 1x -timeout 60m ./internal/bench")
			default:
				// With --pace-at-limits the exporter is told the testbed's limits
				// (unless the user set the rates); otherwise it runs with the
				// defaults, the AWS pace without a ceiling.
				awsSet, portSet := cmd.Flags().Changed("aws-requests-per-second"), cmd.Flags().Changed("port-requests-per-second")
				paceAWS, pacePort := paceAtLimits && !awsSet, paceAtLimits && !portSet
				noCeiling := !paceAtLimits && !awsSet
				exp := childExporter(benchChildInput{
					Sync: *syncFlags, PaceAWS: paceAWS, PacePort: pacePort, NoAWSCeiling: noCeiling,
					WriteConcurrency: writeConcurrency, GetConcurrency: getConcurrency,
				}, cli.LogLevel(cmd))
				if inProcess {
					exp = bench.InProcess(bench.Settings{Sync: settings, PaceAWS: paceAWS, PacePort: pacePort, NoAWSCeiling: noCeiling, Logger: logger})
				}
				res, err = bench.RunSync(ctx, sc, exp, func(elapsed time.Duration, t bench.Traffic) {
					logger.Debug("progress", "elapsed", elapsed.Round(time.Second), "aws_requests", t.AWSRequests,
						"aws_throttled", t.AWSThrottled, "port_requests", t.PortRequests, "port_429", t.Port429)
				})
			}
			if err != nil {
				return fmt.Errorf("scenario %s: %w", name, err)
			}
			results = append(results, res)
			if !asJSON {
				printBenchResult(cmd.OutOrStdout(), res)
			}
		}
		if asJSON {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(results)
		}
		return nil
	}
	f := cmd.Flags()
	f.StringSliceVar(&scenarios, "scenario", []string{bench.ScenarioFullSync}, "scenarios to run, in order (repeat or comma-separate)")
	f.IntVar(&resources, "resources", 0, "resize the scenario to this many resources (0: the scenario's own size)")
	f.BoolVar(&asJSON, "json", false, "print the figures as JSON")
	f.BoolVar(&paceAtLimits, "pace-at-limits", false, "tell the exporter the testbed's limits (--aws-requests-per-second, --port-requests-per-second), as before issue 11; default: the binary's defaults, the AWS pace without a ceiling")
	f.BoolVar(&inProcess, "in-process", false, "run the exporter in this process (peak RSS then includes the testbed)")
	f.IntVar(&writeConcurrency, "write-concurrency", 0, "upsert requests in flight across shards (0: the controller's default)")
	f.IntVar(&getConcurrency, "get-concurrency", 0, "GetResource calls in flight per region (cap) (0: the source's default)")
	f.Float64Var(&limits.AWSRate, "aws-rate", bench.DefaultAWSRate, "Cloud Control requests per second per region the testbed accepts")
	f.DurationVar(&limits.AWSLatency, "aws-latency", 50*time.Millisecond, "latency the testbed adds to every Cloud Control call")
	f.IntVar(&limits.PortRate, "port-rate", 117, "Port requests per second the testbed accepts")
	f.DurationVar(&limits.PortLatency, "port-latency", 80*time.Millisecond, "latency the testbed adds to every Port request")
	f.IntVar(&accounts, "accounts", 0, "org scenario: member accounts (0: the scenario's 200)")
	f.BoolVar(&lambda.Memory, "shards-from-memory", false, "org scenario: hand the signed shard messages to the containers from memory, not through moto's SQS")
	f.IntVar(&lambda.Containers, "lambda-containers", 4, "org scenario: Lambda containers taking the shard messages, one invocation at a time each")
	f.DurationVar(&lambdaDeadline, "lambda-deadline", bench.LambdaDeadline, "the invocation time of the "+bench.ScenarioLambda30k+" scenario")
	f.BoolVar(&child, benchChildFlag, false, "internal: be the exporter side of a sync scenario")
	_ = f.MarkHidden(benchChildFlag)
	syncFlags = cli.BindSyncFlags(f)
	return cmd
}

// overrideLimits applies the testbed limits the user set on the command line.
func overrideLimits(sc *bench.Scenario, limits bench.Scenario, changed func(string) bool) {
	if changed("aws-rate") {
		sc.AWSRate = limits.AWSRate
	}
	if changed("aws-latency") {
		sc.AWSLatency = limits.AWSLatency
	}
	if changed("port-rate") {
		sc.PortRate = limits.PortRate
	}
	if changed("port-latency") {
		sc.PortLatency = limits.PortLatency
	}
}

// childExporter runs the exporter as `bench --exporter-child` (this very
// program) at the parent's log level; its logs go to the parent's stderr.
func childExporter(knobs benchChildInput, logLevel string) bench.Exporter {
	return func(ctx context.Context, ep bench.Endpoints) (bench.ExporterRun, error) {
		in := knobs
		in.Endpoints = ep
		if math.IsInf(in.Sync.AWSRequestsPerSecond, 1) {
			// JSON has no infinity: "no ceiling" travels as NoAWSCeiling.
			in.Sync.AWSRequestsPerSecond, in.NoAWSCeiling = 0, true
		}
		if math.IsInf(in.Sync.PortRequestsPerSecond, 1) {
			in.Sync.PortRequestsPerSecond, in.NoPortCeiling = 0, true
		}
		payload, err := json.Marshal(in)
		if err != nil {
			return bench.ExporterRun{}, fmt.Errorf("encode the child's input: %w", err)
		}
		self, err := os.Executable()
		if err != nil {
			return bench.ExporterRun{}, fmt.Errorf("find this executable to start the exporter child: %w", err)
		}
		child := exec.CommandContext(ctx, self, "--"+benchChildFlag, "--log-level", logLevel, "--log-format", "text")
		child.Stdin = bytes.NewReader(payload)
		var stdout bytes.Buffer
		child.Stdout = &stdout
		child.Stderr = os.Stderr
		if err := child.Run(); err != nil {
			return bench.ExporterRun{}, fmt.Errorf("exporter child: %w", err)
		}
		var run bench.ExporterRun
		if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
			return bench.ExporterRun{}, fmt.Errorf("read the exporter child's figures %q: %w", stdout.String(), err)
		}
		return run, nil
	}
}

// childLambda runs the Lambda side of the org scenario as `bench
// --exporter-child` (the same child as the sync scenarios, told to be
// Lambda's containers).
func childLambda(set bench.OrgLambdaSettings, logLevel string) bench.OrgExporter {
	return func(ctx context.Context, ep bench.Endpoints) (bench.OrgLambdaRun, error) {
		s := set
		var run bench.OrgLambdaRun
		err := runChild(ctx, benchChildInput{Endpoints: ep, Lambda: &s}, logLevel, &run)
		return run, err
	}
}

// runChild starts the child with in on stdin and decodes its stdout into out.
func runChild(ctx context.Context, in benchChildInput, logLevel string, out any) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode the child's input: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this executable to start the exporter child: %w", err)
	}
	child := exec.CommandContext(ctx, self, "--"+benchChildFlag, "--log-level", logLevel, "--log-format", "text")
	child.Stdin = bytes.NewReader(payload)
	var stdout bytes.Buffer
	child.Stdout = &stdout
	child.Stderr = os.Stderr
	if err := child.Run(); err != nil {
		return fmt.Errorf("exporter child: %w", err)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("read the exporter child's figures %q: %w", stdout.String(), err)
	}
	return nil
}

// runBenchChild is the child's side: the settings built from the parent's
// flags as the sync command builds them, one sync through the product's
// wiring (bench.SyncOnce, exporter.Build), then its figures on stdout.
func runBenchChild(ctx context.Context, cmd *cobra.Command) error {
	var in benchChildInput
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 16<<20)).Decode(&in); err != nil {
		return fmt.Errorf("read the bench input from stdin: %w", err)
	}
	if in.Lambda != nil {
		run, err := bench.RunOrgLambda(ctx, in.Endpoints, *in.Lambda, cli.NewLogger(cmd, os.Stderr))
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(run)
	}
	if in.NoAWSCeiling && in.Sync.AWSRequestsPerSecond == 0 {
		in.Sync.AWSRequestsPerSecond = math.Inf(1)
	}
	if in.NoPortCeiling && in.Sync.PortRequestsPerSecond == 0 {
		in.Sync.PortRequestsPerSecond = math.Inf(1)
	}
	sync, err := in.Sync.Settings()
	if err != nil {
		return err
	}
	sync.WriteConcurrency, sync.GetConcurrency = in.WriteConcurrency, in.GetConcurrency
	set := bench.Settings{Sync: sync, PaceAWS: in.PaceAWS, PacePort: in.PacePort, NoAWSCeiling: in.NoAWSCeiling}
	run, err := bench.SyncOnce(ctx, in.Endpoints, set.For(in.Endpoints), cli.NewLogger(cmd, os.Stderr))
	if err != nil {
		return err
	}
	return json.NewEncoder(cmd.OutOrStdout()).Encode(run)
}

func runMappingScenario(ctx context.Context, sc bench.Scenario) (bench.MappingResult, error) {
	dir, err := os.MkdirTemp("", "port-aws-exporter-bench-")
	if err != nil {
		return bench.MappingResult{}, fmt.Errorf("create a directory for the documents: %w", err)
	}
	defer os.RemoveAll(dir)
	jqPath := bench.FindJQ()
	if jqPath == "" {
		slog.Warn("jq binary not found ($JQ or PATH): measuring the exporter's mapping alone")
	}
	return bench.RunMapping(ctx, dir, sc.PerShard, jqPath)
}

func printBenchResult(w io.Writer, res any) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch r := res.(type) {
	case bench.Result:
		fmt.Fprintf(tw, "== %s: %d resources\n", r.Scenario, r.Resources)
		fmt.Fprintf(tw, "wall time\t%s\n", r.Wall.Round(time.Millisecond))
		fmt.Fprintf(tw, "lower bound\t%s\t(AWS %s for %d calls, Port %s for %d requests, one shard's pages %s)\n",
			r.Bound.Total.Round(time.Millisecond), r.Bound.AWS.Round(time.Millisecond), r.Bound.AWSRequests,
			r.Bound.Port.Round(time.Millisecond), r.Bound.PortRequests, r.Bound.Chain.Round(time.Millisecond))
		fmt.Fprintf(tw, "ratio\t%.3f\n", r.Ratio)
		fmt.Fprintf(tw, "AWS requests\t%d\t(%d throttled; budget used per region: %s)\n", r.AWSRequests, r.AWSThrottled, formatShares(r.AWSBudgetUsed))
		fmt.Fprintf(tw, "Port requests\t%d\t(%d bulk upserts, %d single writes, %d answered 429, %d at most in flight)\n",
			r.PortRequests, r.PortBulkUpserts, r.PortSingleWrites, r.Port429, r.PortMaxInFlight)
		fmt.Fprintf(tw, "entities per Port request\t%.2f\n", r.EntitiesPerPortRequest)
		fmt.Fprintf(tw, "peak RSS (exporter)\t%.1f MB\n", float64(r.PeakRSS)/(1<<20))
		fmt.Fprintf(tw, "seed design (estimate)\t%s overlapped, %s sequential\t(%d Port requests)\n",
			r.Seed.Overlapped.Round(time.Second), r.Seed.Sequential.Round(time.Second), r.Seed.PortRequests)
	case bench.OrgResult:
		fmt.Fprintf(tw, "== %s: %d accounts, %d shards, %d resources (testbed set up in %s)\n", r.Scenario, r.Accounts, r.Shards, r.Resources, time.Duration(r.Setup).Round(time.Second))
		fmt.Fprintf(tw, "wall time\t%s\t(scheduled invocation to the last shard settled; the fan-out took %s, %s of it resolving the organization)\n",
			r.Wall.Round(time.Millisecond), r.Run.FanOut.Round(time.Millisecond), r.Run.FanOutListing.Round(time.Millisecond))
		fmt.Fprintf(tw, "lower bound\t%s\t(busiest account-region %s for %d calls, Port %s for %d requests, one shard's pages %s)\n",
			r.Bound.Total.Round(time.Millisecond), r.Bound.AWS.Round(time.Millisecond), r.CallsPerAccountRegion,
			r.Bound.Port.Round(time.Millisecond), r.Bound.PortRequests, r.Bound.Chain.Round(time.Millisecond))
		fmt.Fprintf(tw, "ratio\t%.3f\n", r.Ratio)
		fmt.Fprintf(tw, "after the fan-out\t%s\t(%d of %d shards were settled when it returned)\n", (r.Wall - r.Run.FanOut).Round(time.Millisecond), r.Run.SettledAtFanOut, r.Run.Shards)
		fmt.Fprintf(tw, "Lambda\t%d containers, %d invocations\t(%d outcomes retried, %d dead-lettered, %d shards failed)\n",
			r.Run.Containers, r.Run.Invocations, r.Run.Retried, r.Run.DeadLettered, r.Run.Failed)
		fmt.Fprintf(tw, "STS AssumeRole\t%d\t(%d denied; limit accounts × containers = %d)\n", r.AssumeRole, r.AssumeRoleDenied, r.Accounts*r.Run.Containers)
		fmt.Fprintf(tw, "Cloud Control calls\t%d\t(%d needed, %d throttled; busiest account-region %d)\n", r.AWSRequests, r.Bound.AWSRequests, r.AWSThrottled, r.BusiestAccountRegion)
		fmt.Fprintf(tw, "Port requests\t%d\t(%d minimum; %d bulk upserts, %d answered 429, %d at most in flight)\n",
			r.PortRequests, r.Bound.PortRequests, r.PortBulkUpserts, r.Port429, r.PortMaxInFlight)
		fmt.Fprintf(tw, "entities in Port\t%d\t(listed %d, upserted %d by the shards)\n", r.Entities, r.Run.Listed, r.Run.Upserted)
		fmt.Fprintf(tw, "peak RSS (Lambda child)\t%.1f MB\t(all %d containers in one process)\n", float64(r.Run.PeakRSS)/(1<<20), r.Run.Containers)
	case bench.LambdaResult:
		fmt.Fprintf(tw, "== %s: %d resources in one shard, %s per invocation\n", r.Scenario, r.Resources, r.Deadline)
		fmt.Fprintf(tw, "invocations\t%d\t(%d redelivered; longest %s)\n", r.Invocations, r.Redelivered, r.Longest.Round(time.Millisecond))
		fmt.Fprintf(tw, "wall time\t%s\t(lower bound %s: the AWS calls at the testbed's rate; ratio %.3f)\n", r.Wall.Round(time.Millisecond), r.Bound.Round(time.Millisecond), r.Ratio)
		fmt.Fprintf(tw, "continuations\t%d state in the message, %d in the store\t(largest message %d bytes)\n", r.StateInMessage, r.StateInStore, r.MaxMessageBytes)
		fmt.Fprintf(tw, "stale deletion\t%d of %d deleted, %d missing, %d extra\tcorrect: %v\n", r.StaleDeleted, r.StaleExpected, r.Missing, r.Extra, r.DeletionCorrect)
		fmt.Fprintf(tw, "AWS requests\t%d\t(%d throttled)\n", r.AWSRequests, r.AWSThrottled)
		fmt.Fprintf(tw, "Port requests\t%d\t(%d bulk upserts, %d answered 429)\n", r.PortRequests, r.PortBulkUpserts, r.Port429)
	case bench.MappingResult:
		fmt.Fprintf(tw, "== mapping: %d documents, 12 properties\n", r.Documents)
		fmt.Fprintf(tw, "exporter (gojq)\t%.0f entities per CPU second\t(wall %s, CPU %s; parse, map, print)\n",
			r.Ours.PerCoreSecond, r.Ours.Wall.Round(time.Millisecond), r.Ours.CPU.Round(time.Millisecond))
		fmt.Fprintf(tw, "exporter, time in Map\t%.0f entities per second\t(%s wall inside mapping.Resource.Map)\n",
			float64(r.Ours.Entities)/r.Ours.InMap.Seconds(), r.Ours.InMap.Round(time.Millisecond))
		if a := r.Ours.MapAlone; a != nil {
			fmt.Fprintf(tw, "exporter, Map alone\t%.0f entities per CPU second\t(wall %s, CPU %s; a pass of Map only)\n",
				a.PerCoreSecond, a.Wall.Round(time.Millisecond), a.CPU.Round(time.Millisecond))
		}
		if r.JQ != nil {
			fmt.Fprintf(tw, "%s binary\t%.0f entities per CPU second\t(wall %s, CPU %s)\n",
				r.JQVersion, r.JQ.PerCoreSecond, r.JQ.Wall.Round(time.Millisecond), r.JQ.CPU.Round(time.Millisecond))
			fmt.Fprintf(tw, "exporter / jq\t%.2f\n", r.Ours.PerCoreSecond/r.JQ.PerCoreSecond)
			if a := r.Ours.MapAlone; a != nil {
				fmt.Fprintf(tw, "Map alone / jq\t%.2f\n", a.PerCoreSecond/r.JQ.PerCoreSecond)
			}
		}
	}
	fmt.Fprintln(tw)
}

// formatShares prints region shares sorted by region, e.g. "eu-west-1 97%, us-east-1 95%".
func formatShares(m map[string]float64) string {
	regions := make([]string, 0, len(m))
	for r := range m {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	parts := make([]string, 0, len(regions))
	for _, r := range regions {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", r, 100*m[r]))
	}
	return strings.Join(parts, ", ")
}
