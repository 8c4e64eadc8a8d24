package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
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
				run.Errors = append(run.Errors, s.Shard.String()+": "+e)
			}
		}
	}
	return run
}

// Exporter runs one full sync against the testbed at ep.
type Exporter func(ctx context.Context, ep Endpoints) (ExporterRun, error)

// Settings are the exporter knobs InProcess uses; zero values take the
// production defaults.
type Settings struct {
	// ShardConcurrency is the sync command's --concurrency (4 by default there).
	ShardConcurrency int
	GetConcurrency   int
	WriteConcurrency int
	Logger           *slog.Logger
}

// InProcess is an Exporter that syncs in this process with the production
// parts (source, mapping, Port client, target, controller) wired the way
// the sync command wires them.
func InProcess(set Settings) Exporter {
	return func(ctx context.Context, ep Endpoints) (ExporterRun, error) {
		log := set.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		cfg, err := config.Parse(ep.Config, config.JSON)
		if err != nil {
			return ExporterRun{}, fmt.Errorf("parse the bench config: %w", err)
		}
		mapper, err := mapping.Compile(cfg)
		if err != nil {
			return ExporterRun{}, fmt.Errorf("compile the bench config: %w", err)
		}
		client, err := port.New(port.Config{
			BaseURL: ep.PortURL, ClientID: ep.ClientID, ClientSecret: ep.ClientSecret,
			RequestsPerSecond: ep.PortRate, Logger: log,
		})
		if err != nil {
			return ExporterRun{}, fmt.Errorf("build the Port client: %w", err)
		}
		syncer := &controller.Syncer{
			Mapper: mapper,
			Source: source.NewCloudControl(ep.AWSConfig(), source.Options{
				RequestsPerSecond: ep.AWSRate, GetConcurrency: set.GetConcurrency, Logger: log,
			}),
			Target:           target.NewPort(client, port.UpsertOptions{CreateMissingRelatedEntities: true}, port.DeleteOptions{}),
			AccountID:        ep.AccountID,
			DefaultRegion:    ep.Region,
			Concurrency:      orDefault(set.ShardConcurrency, 4),
			Policy:           plan.Sync{},
			MaxDeleteShare:   plan.DefaultMaxDeleteShare,
			WriteConcurrency: set.WriteConcurrency,
			Logger:           log,
		}
		start := time.Now()
		report, err := syncer.Run(ctx)
		run := Summarize(report, time.Since(start))
		if err != nil {
			return run, fmt.Errorf("sync: %w", err)
		}
		run.PeakRSS, err = PeakRSS()
		return run, err
	}
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
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
	if sample != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			start := time.Now()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					sample(time.Since(start), tb.Traffic())
				}
			}
		}()
	}
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
