package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/pprof"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
)

// ExporterRun is what an exporter reports about one sync it ran.
type ExporterRun struct {
	Wall     time.Duration `json:"wall"`
	PeakRSS  int64         `json:"peakRSS"`
	Shards   int           `json:"shards"`
	Listed   int           `json:"listed"`
	Upserted int           `json:"upserted"`
	Failed   int           `json:"failed"`
	// Errors are the first few shard errors, for the report.
	Errors []string `json:"errors,omitempty"`
}

// Summarize turns a sync report into an ExporterRun (PeakRSS is the caller's).
func Summarize(r controller.Report, wall time.Duration) ExporterRun {
	run := ExporterRun{Wall: wall, Shards: len(r.Shards)}
	for _, s := range r.Shards {
		run.Listed += s.Listed
		run.Upserted += s.Upserted
		run.Failed += s.Failed
		for _, e := range s.Errors {
			if len(run.Errors) < 5 {
				run.Errors = append(run.Errors, s.Shard.String()+": "+e.Error())
			}
		}
	}
	return run
}

// Exporter runs one full sync against the testbed at ep.
type Exporter func(ctx context.Context, ep Endpoints) (ExporterRun, error)

// Settings are what an exporter run of a sync scenario uses.
type Settings struct {
	// Sync are the exporter's settings, as the sync command builds them
	// (cli.SyncDefaults for its defaults).
	Sync exporter.SyncSettings
	// PaceAWS and PacePort replace the settings' rates by the testbed's
	// limits, as a user sets --aws-requests-per-second and
	// --port-requests-per-second to the limits of their account.
	PaceAWS, PacePort bool
	// NoAWSCeiling runs the AWS pace with no ceiling (when PaceAWS is
	// false): --aws-requests-per-second none, the product's default.
	NoAWSCeiling bool
	Logger       *slog.Logger
}

// For are the settings for a sync of the testbed at ep.
func (set Settings) For(ep Endpoints) exporter.SyncSettings {
	s := set.Sync
	switch {
	case set.PaceAWS:
		s.AWSRequestsPerSecond = ep.AWSRate
	case set.NoAWSCeiling:
		s.AWSRequestsPerSecond = math.Inf(1)
	}
	if set.PacePort {
		s.PortRequestsPerSecond = ep.PortRate
	}
	return s
}

// InProcess is an Exporter that syncs in this process through the
// product's wiring (Build).
func InProcess(set Settings) Exporter {
	return func(ctx context.Context, ep Endpoints) (ExporterRun, error) {
		log := set.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return SyncOnce(ctx, ep, set.For(ep), log)
	}
}

// SyncOnce wires the exporter against the testbed at ep, runs one full
// sync and reports it, with this process's peak RSS.
func SyncOnce(ctx context.Context, ep Endpoints, sync exporter.SyncSettings, log *slog.Logger) (ExporterRun, error) {
	b, cleanup, err := Build(ctx, ep, sync, nil, log)
	if err != nil {
		return ExporterRun{}, err
	}
	defer cleanup()
	start := time.Now()
	report, err := b.Controller.Run(ctx)
	run := Summarize(report, time.Since(start))
	b.LogPace(log) // the pace found per region, and Port's
	// Logged whether or not the sync succeeded: a failed shard of a long
	// run still tells the memory it took.
	peak, rssErr := PeakRSS()
	log.Info("exporter peak RSS", "bytes", peak, "mb", fmt.Sprintf("%.1f", float64(peak)/(1<<20)), "listed", run.Listed, "upserted", run.Upserted)
	if path := os.Getenv(HeapProfileEnv); path != "" {
		if perr := writeHeapProfile(path); perr != nil {
			log.Warn("heap profile", "error", perr)
		}
	}
	if err != nil {
		return run, fmt.Errorf("sync: %w", err)
	}
	run.PeakRSS = peak
	return run, rssErr
}

// HeapProfileEnv names a file the exporter side of a sync scenario writes
// its heap profile to when the sync ends (before anything is released), to
// see what the memory at the end of a large sync is.
const HeapProfileEnv = "BENCH_HEAP_PROFILE"

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Result is one scenario's figures.
type Result struct {
	Scenario  string `json:"scenario"`
	Resources int    `json:"resources"`
	// Wall is the exporter's sync time; Bound the lower bound; Ratio Wall/Bound.
	Wall  time.Duration `json:"wall"`
	Bound Bound         `json:"bound"`
	Ratio float64       `json:"ratio"`
	Traffic
	// EntitiesPerPortRequest is upserted entities over Port requests (all routes but the token's).
	EntitiesPerPortRequest float64 `json:"entitiesPerPortRequest"`
	PeakRSS                int64   `json:"peakRSS"`
	// AWSBudgetUsed is, per region, the share of the region's rate the
	// sync used over its wall time (what the limiter let through, after the
	// burst, over rate × wall): 1 means AWS never waited for the exporter.
	AWSBudgetUsed map[string]float64 `json:"awsBudgetUsed"`
	Seed          SeedEstimate       `json:"seed"`
	Run           ExporterRun        `json:"run"`
}

// Sampler receives the testbed's counters every second of a sync, to show
// where time goes (a stall, an idle side).
type Sampler func(elapsed time.Duration, t Traffic)

// every calls s with the traffic each interval until the returned func is
// called; a nil Sampler does nothing.
func (s Sampler) every(interval time.Duration, traffic func() Traffic) (stop func()) {
	if s == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		start := time.Now()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				s(time.Since(start), traffic())
			}
		}
	}()
	return func() { close(done) }
}

// RunSync starts the testbed of sc, has exp sync it, and measures. sample
// may be nil.
func RunSync(ctx context.Context, sc Scenario, exp Exporter, sample Sampler) (Result, error) {
	if sc.Resources() == 0 {
		return Result{}, errNoResources
	}
	tb, err := StartTestbed(sc)
	if err != nil {
		return Result{}, err
	}
	defer tb.Close()
	defer sample.every(time.Second, tb.Traffic)()
	run, err := exp(ctx, tb.Endpoints())
	if err != nil {
		return Result{}, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	res := Result{
		Scenario: sc.Name, Resources: sc.Resources(), Wall: run.Wall, Bound: SyncBound(sc),
		Traffic: tb.Traffic(), PeakRSS: run.PeakRSS, Seed: EstimateSeed(sc), Run: run,
	}
	res.Ratio = res.Wall.Seconds() / res.Bound.Total.Seconds()
	res.AWSBudgetUsed = map[string]float64{}
	for region, n := range tb.Limiter.Admitted() {
		res.AWSBudgetUsed[region] = float64(n-int(sc.AWSRate)) / (sc.AWSRate * run.Wall.Seconds())
	}
	if res.PortRequests > 0 {
		res.EntitiesPerPortRequest = float64(run.Upserted) / float64(res.PortRequests)
	}
	if run.Failed > 0 || run.Upserted != sc.Resources() {
		return res, fmt.Errorf("scenario %s: %d of %d resources upserted, %d failures: %v", sc.Name, run.Upserted, sc.Resources(), run.Failed, run.Errors)
	}
	return res, nil
}
