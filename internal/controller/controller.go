// Package controller runs a full sync: for every shard (account, region, kind)
// it lists the resources, maps them to entities, upserts them, and deletes
// the stale entities the shard owns, within the plan's safety guards. One
// shard is one unit of work, so the same code serves the CLI (all shards in
// one process) and Lambda (one shard per invocation).
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/plan"
	"github.com/port-labs/port-aws-exporter/internal/registry"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Lister reads one shard's resources from AWS.
type Lister interface {
	List(ctx context.Context, shard source.Shard, opts source.ListOptions, fn func(source.Resource) error) error
}

// Target is where entities go: Port, a file, or nowhere (dry run).
type Target interface {
	// Owned lists the entities the owner wrote in these blueprints.
	Owned(ctx context.Context, owner registry.Owner, blueprints []string) ([]entity.Ref, error)
	// Upsert writes entities on behalf of the owner; one result per entity, in order.
	Upsert(ctx context.Context, owner registry.Owner, ents []entity.Entity) []WriteResult
	// Delete removes entities; an entity already gone is a success.
	Delete(ctx context.Context, owner registry.Owner, refs []entity.Ref) []WriteResult
}

// WriteResult is the outcome of writing one entity.
type WriteResult struct {
	Ref entity.Ref
	Err error
}

// Syncer runs full syncs.
type Syncer struct {
	Mapper        *mapping.Mapper
	Source        Lister
	Target        Target
	AccountID     string
	DefaultRegion string
	// Concurrency bounds how many shards run at once.
	Concurrency int
	Policy      plan.Policy
	// MaxDeleteShare is the largest share of a shard's owned entities one sync may delete.
	MaxDeleteShare float64
	// DryRun computes plans and writes nothing.
	DryRun bool
	// WriteConcurrency bounds the upsert requests in flight across all
	// shards; DefaultWriteConcurrency if zero.
	WriteConcurrency int
	Logger           *slog.Logger
	// OnShardStart and OnShardDone report progress; they may be called concurrently.
	OnShardStart func(source.Shard)
	OnShardDone  func(ShardReport)

	slotsOnce  sync.Once
	writeSlots chan struct{}
}

// ShardReport is what happened to one shard.
type ShardReport struct {
	Shard    source.Shard
	Listed   int // resources read from AWS
	Skipped  int // resources the selector rejected
	Mapped   int // entities produced
	Upserted int
	Deleted  int
	Failed   int // entities that could not be mapped, upserted or deleted
	// Duplicates counts entities produced more than once in the shard
	// (two resources mapping to one identifier); the last one written wins.
	Duplicates int
	// Upserts counts the entities to upsert per blueprint (what a dry run prints).
	Upserts  map[string]int
	Withheld []plan.Withheld
	Errors   []string
	Duration time.Duration
	// Plan is the computed deletion plan.
	Plan plan.Plan
}

// OK is true when the shard had no error.
func (r ShardReport) OK() bool { return len(r.Errors) == 0 }

// Report is the outcome of a full sync.
type Report struct {
	Shards   []ShardReport
	Duration time.Duration
}

// OK is true when every shard succeeded.
func (r Report) OK() bool {
	for _, s := range r.Shards {
		if !s.OK() {
			return false
		}
	}
	return true
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Syncer) policy() plan.Policy {
	if s.Policy != nil {
		return s.Policy
	}
	return plan.Sync{}
}

// Shards lists the shards the config asks for: one per kind and region, with
// the union of the resource models the config names for that region.
func (s *Syncer) Shards(ctx context.Context) ([]source.Shard, error) {
	var shards []source.Shard
	for _, kind := range s.Mapper.Kinds() {
		models := map[string][]string{}
		var regions []string
		for _, r := range s.Mapper.ForKind(kind) {
			for _, region := range r.Regions(s.DefaultRegion) {
				if region == "" {
					continue // no region in the entry and no default region: reported below
				}
				if _, seen := models[region]; !seen {
					regions = append(regions, region)
					models[region] = nil
				}
				models[region] = appendMissing(models[region], r.ResourceModels(region)...)
			}
		}
		if len(regions) == 0 {
			return nil, fmt.Errorf("kind %s: no region configured and no default region (set AWS_REGION or selector.aws.regions)", kind)
		}
		for _, region := range regions {
			shards = append(shards, source.Shard{AccountID: s.AccountID, Region: region, Kind: kind, ResourceModels: models[region]})
		}
	}
	return shards, nil
}

func appendMissing(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// Run syncs every shard with bounded concurrency. Deletions wait until every
// shard has listed, so an entity that one shard produces (an S3 bucket seen
// from two regions) is never deleted as stale by another.
func (s *Syncer) Run(ctx context.Context) (Report, error) {
	start := time.Now()
	shards, err := s.Shards(ctx)
	if err != nil {
		return Report{}, err
	}
	shards = interleaveRegions(shards)
	works := make([]*shardWork, len(shards))
	// A plain Group, not WithContext: a shard's work outlives this phase (its
	// early ownership search is read in the next), and no shard's failure
	// should cancel another's; each reports its own errors.
	var g errgroup.Group
	g.SetLimit(max(1, s.Concurrency))
	for i, sh := range shards {
		g.Go(func() error {
			works[i] = s.prepare(ctx, sh)
			return nil
		})
	}
	_ = g.Wait()

	desired := map[entity.Ref]bool{}
	for _, w := range works {
		for ref := range w.desired {
			desired[ref] = true
		}
	}
	protected := func(r entity.Ref) bool { return desired[r] }

	reports := make([]ShardReport, len(works))
	g = errgroup.Group{}
	g.SetLimit(max(1, s.Concurrency))
	for i, w := range works {
		g.Go(func() error {
			reports[i] = s.finish(ctx, w, protected)
			return nil
		})
	}
	_ = g.Wait()
	sort.SliceStable(reports, func(i, j int) bool {
		a, b := reports[i].Shard, reports[j].Shard
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Region < b.Region
	})
	return Report{Shards: reports, Duration: time.Since(start)}, ctx.Err()
}

// interleaveRegions orders shards so that consecutive shards are in
// different regions: every region's first shard, then every region's second,
// and so on. AWS's rate limit is per region, so with Concurrency shards
// running, this keeps as many regions busy as possible instead of spending
// one region's budget on several of its kinds while another region waits
// (kind by kind, a kind configured in fewer regions would bunch them up).
// Within a region, the config's order is kept.
func interleaveRegions(shards []source.Shard) []source.Shard {
	byRegion := map[string][]source.Shard{}
	var regions []string
	for _, sh := range shards {
		if _, seen := byRegion[sh.Region]; !seen {
			regions = append(regions, sh.Region)
		}
		byRegion[sh.Region] = append(byRegion[sh.Region], sh)
	}
	out := make([]source.Shard, 0, len(shards))
	for round := 0; len(out) < len(shards); round++ {
		for _, r := range regions {
			if round < len(byRegion[r]) {
				out = append(out, byRegion[r][round])
			}
		}
	}
	return out
}

// SyncShard syncs one shard on its own, deletions included. Lambda's fan-out
// runs each shard this way in its own invocation.
func (s *Syncer) SyncShard(ctx context.Context, shard source.Shard) ShardReport {
	w := s.prepare(ctx, shard)
	return s.finish(ctx, w, nil)
}

// shardWork carries a shard between the listing and the deletion phase. It
// keeps references only: entities are upserted as soon as a bulk request's
// worth is mapped, so memory follows the identifiers, not the documents.
type shardWork struct {
	owner   registry.Owner
	started time.Time

	mu      sync.Mutex
	report  ShardReport
	desired map[entity.Ref]struct{}

	// early is the ownership search of the mappings' fixed blueprints,
	// started with the listing so that it does not add to the shard's time;
	// earlyBlueprints are the blueprints it covers.
	early           chan ownedResult
	earlyBlueprints []string
}

type ownedResult struct {
	refs []entity.Ref
	err  error
}

// searchOwnedEarly starts the ownership search of the blueprints the shard's
// mappings name statically. Entities written after the search started are
// desired ones, which the plan never deletes, so searching early is safe.
func (s *Syncer) searchOwnedEarly(ctx context.Context, w *shardWork) {
	w.earlyBlueprints = s.staticBlueprints(w.report.Shard.Kind)
	if len(w.earlyBlueprints) == 0 {
		return
	}
	w.early = make(chan ownedResult, 1)
	go func() {
		refs, err := s.Target.Owned(ctx, w.owner, w.earlyBlueprints)
		w.early <- ownedResult{refs, err}
	}()
}

// owned lists what the shard owns: the early search's result, plus a search
// of the blueprints that only this run's entities revealed.
func (s *Syncer) owned(ctx context.Context, w *shardWork) ([]entity.Ref, error) {
	var refs []entity.Ref
	if w.early != nil {
		r := <-w.early
		if r.err != nil {
			return nil, r.err
		}
		refs = r.refs
	}
	var rest []string
	for _, bp := range s.blueprintsFor(w) {
		if !slices.Contains(w.earlyBlueprints, bp) {
			rest = append(rest, bp)
		}
	}
	if len(rest) == 0 {
		return refs, nil
	}
	more, err := s.Target.Owned(ctx, w.owner, rest)
	return append(refs, more...), err
}

// prepare lists and maps the shard's resources and upserts the entities.
func (s *Syncer) prepare(ctx context.Context, shard source.Shard) *shardWork {
	if s.OnShardStart != nil {
		s.OnShardStart(shard)
	}
	w := &shardWork{
		owner:   registry.Owner{AccountID: shard.AccountID, Region: shard.Region, Kind: shard.Kind},
		report:  ShardReport{Shard: shard, Upserts: map[string]int{}},
		started: time.Now(),
		desired: map[entity.Ref]struct{}{},
	}
	log := s.logger().With("shard", shard.String())
	var applicable []*mapping.Resource
	trustList := true
	for _, r := range s.Mapper.ForKind(shard.Kind) {
		if slices.Contains(r.Regions(s.DefaultRegion), shard.Region) {
			applicable = append(applicable, r)
			trustList = trustList && r.TrustListProperties
		}
	}
	if len(applicable) == 0 {
		w.fail("no config entry maps %s in %s", shard.Kind, shard.Region)
		return w
	}

	s.searchOwnedEarly(ctx, w)
	up := s.newUpserter(ctx, w, log)
	err := s.Source.List(ctx, shard, source.ListOptions{TrustListProperties: trustList}, func(res source.Resource) error {
		var produced []entity.Entity
		var problems []string
		skipped := 0
		for _, r := range applicable {
			// A partly failed mapping still yields the entities that did map:
			// they are true and are upserted, while the error keeps the
			// shard from deleting anything.
			result, err := r.Map(ctx, res)
			if err != nil {
				problems = append(problems, err.Error())
			} else if !result.Selected {
				skipped++
				continue
			}
			produced = append(produced, result.Entities...)
		}
		w.mu.Lock()
		w.report.Listed++
		if skipped == len(applicable) {
			w.report.Skipped++
		}
		w.report.Failed += len(problems)
		w.report.Errors = append(w.report.Errors, problems...)
		w.report.Mapped += len(produced)
		for _, e := range produced {
			ref := e.Ref()
			if _, dup := w.desired[ref]; dup {
				w.report.Duplicates++
			}
			w.desired[ref] = struct{}{}
			w.report.Upserts[e.Blueprint]++
		}
		w.mu.Unlock()
		for _, p := range problems {
			log.Warn("mapping failed", "error", p)
		}
		for _, e := range produced {
			up.add(e)
		}
		return nil
	})
	up.close()
	if err != nil {
		w.fail("%v", err)
	}
	return w
}

// finish computes the deletions of a prepared shard and applies them.
func (s *Syncer) finish(ctx context.Context, w *shardWork, protected func(entity.Ref) bool) (report ShardReport) {
	log := s.logger().With("shard", w.report.Shard.String())
	defer func() {
		w.report.Duration = time.Since(w.started)
		report = w.report
		logShardDone(log, report)
		if s.OnShardDone != nil {
			s.OnShardDone(report)
		}
	}()
	var owned []entity.Ref
	if ctx.Err() == nil {
		var err error
		if owned, err = s.owned(ctx, w); err != nil {
			w.fail("list owned entities: %v", err)
		}
	} else if w.early != nil {
		<-w.early
	}
	if ctx.Err() != nil {
		w.fail("interrupted: %v", ctx.Err())
	}
	share := s.MaxDeleteShare
	if share == 0 {
		share = plan.DefaultMaxDeleteShare
	}
	desired := make([]entity.Ref, 0, len(w.desired))
	for ref := range w.desired {
		desired = append(desired, ref)
	}
	p := plan.Calculate(plan.Input{
		Desired:   desired,
		Owned:     owned,
		Problems:  w.report.Errors,
		Protected: protected,
	}, s.policy(), plan.HealthyShard{}, plan.MaxDeleteShare{Share: share})
	w.report.Plan = p
	w.report.Withheld = p.Withheld
	for _, wh := range p.Withheld {
		log.Warn("stale entity kept", "entity", wh.Ref.String(), "reason", wh.Reason)
	}
	if s.DryRun || len(p.Deletes) == 0 {
		return
	}
	for _, res := range s.Target.Delete(ctx, w.owner, p.Deletes) {
		if res.Err != nil {
			w.report.Failed++
			w.report.Errors = append(w.report.Errors, fmt.Sprintf("delete %s: %v", res.Ref, res.Err))
			log.Error("delete failed", "entity", res.Ref.String(), "error", res.Err)
			continue
		}
		w.report.Deleted++
		log.Info("deleted stale entity", "entity", res.Ref.String())
	}
	return
}

// staticBlueprints are the blueprints the kind's mappings name without
// depending on the resource.
func (s *Syncer) staticBlueprints(kind string) []string {
	var out []string
	for _, r := range s.Mapper.ForKind(kind) {
		if bps, ok := r.StaticBlueprints(); ok {
			for _, bp := range bps {
				if !slices.Contains(out, bp) {
					out = append(out, bp)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// blueprintsFor lists the blueprints a shard may own entities in: those its
// mappings name statically, and those its entities landed in this run.
func (s *Syncer) blueprintsFor(w *shardWork) []string {
	set := map[string]bool{}
	for _, bp := range s.staticBlueprints(w.report.Shard.Kind) {
		set[bp] = true
	}
	for ref := range w.desired {
		set[ref.Blueprint] = true
	}
	out := make([]string, 0, len(set))
	for bp := range set {
		out = append(out, bp)
	}
	sort.Strings(out)
	return out
}

// logShardDone records a shard's outcome (docs/install.md: "each shard sync
// logs its outcome"). The errors of a failed shard are logged here in full:
// serve and Lambda have no summary table, and a shard that failed to list
// (AccessDenied, TypeNotFound) logs nothing else.
func logShardDone(log *slog.Logger, r ShardReport) {
	attrs := []any{"listed", r.Listed, "mapped", r.Mapped, "upserted", r.Upserted, "deleted", r.Deleted,
		"failed", r.Failed, "kept", len(r.Withheld), "took", r.Duration}
	if r.OK() {
		log.Info("shard synced", attrs...)
		return
	}
	errs := r.Errors
	if len(errs) > maxLoggedErrors {
		errs = append(slices.Clip(errs[:maxLoggedErrors]), fmt.Sprintf("and %d more", len(r.Errors)-maxLoggedErrors))
	}
	log.Error("shard failed", append(attrs, "errors", errs)...)
}

// maxLoggedErrors bounds the errors of one "shard failed" line; each failed
// mapping or write is also logged on its own.
const maxLoggedErrors = 20

func (w *shardWork) fail(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Errors = append(w.report.Errors, fmt.Sprintf(format, args...))
}

// ErrFailed is returned by callers that turn a report with errors into an exit code.
var ErrFailed = errors.New("sync finished with errors")
