// Package controller is the exporter's one reconcile path. Every write and
// every deletion, from a full sync or from an event, goes through Reconcile:
// the source reads AWS, the mapping turns resources into desired entities, the
// registry says what the shard owns, the plan (policy and guards) decides what
// goes, and the target applies it.
//
// A Scope is a shard (account, region, kind), or a shard narrowed to a few
// resources and entities: a full sync reconciles whole shards, an event a
// narrowed one. A message never decides anything here; it only narrows where
// to look, and a deletion needs proof from AWS (see proof.go).
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
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Source reads resources from AWS.
type Source interface {
	// List reads every resource of a shard.
	List(ctx context.Context, shard source.Shard, opts source.ListOptions, fn func(source.Resource) error) error
	// Get reads one resource of the shard (its account, region and kind);
	// errors.Is(err, source.ErrNotFound) when it is definitely gone.
	Get(ctx context.Context, shard source.Shard, identifier string) (source.Resource, error)
}

// Target is where entities go (Port, a file, a dry-run recorder), and the
// registry of what each shard owns there.
type Target interface {
	// Owned lists the entities the shard wrote in these blueprints.
	Owned(ctx context.Context, shard source.Shard, blueprints []string) ([]entity.Ref, error)
	// OwnedAmong lists which of refs the shard wrote.
	OwnedAmong(ctx context.Context, shard source.Shard, refs []entity.Ref) ([]entity.Ref, error)
	// Upsert writes entities on behalf of the shard; one result per entity, in order.
	Upsert(ctx context.Context, shard source.Shard, ents []entity.Entity) []WriteResult
	// Delete removes entities; an entity already gone is a success.
	Delete(ctx context.Context, shard source.Shard, refs []entity.Ref) []WriteResult
}

// WriteResult is the outcome of writing one entity.
type WriteResult struct {
	Ref entity.Ref
	Err error
}

// Parts are what a controller works with.
type Parts struct {
	Mapper *mapping.Mapper
	Source Source
	Target Target
	// AccountID is the account of the exporter's own credentials: the one
	// the source reads, or, with Accounts, the account of an event message
	// that names none.
	AccountID string
	// Accounts, when set, are the accounts to read (accounts.go), and Source
	// reads each shard with its account's credentials.
	Accounts AccountSet
	// DefaultRegion is the region of config entries that name none.
	DefaultRegion string
	Logger        *slog.Logger
}

// Settings are the built knobs of a controller. Every one is required and
// taken as given: the defaults live in the CLI, and 0 means 0.
type Settings struct {
	// Concurrency bounds how many shards a full sync runs at once (≥ 1).
	Concurrency int
	// WriteConcurrency bounds the upsert requests in flight across all
	// shards (≥ 1); with WritePace it is the floor of that bound.
	WriteConcurrency int
	// WriteSlots, when set, says how many upserts the target can keep busy
	// now (for Port: its budget × a request's latency); the bound follows
	// it, from WriteConcurrency up to MaxWriteSlots (writeSlots).
	WriteSlots func() int
	// Policy picks which stale entities may be deleted (plan.Policies).
	Policy plan.Policy
	// MaxDeleteShare is the largest share of a shard's owned entities one
	// full sync may delete, in [0, 1].
	MaxDeleteShare float64
	// ProofListingTTL is how long a listing made to prove an event's
	// deletion may serve later messages (it must also have started after
	// they arrived); 0 shares a listing only among concurrent messages.
	ProofListingTTL time.Duration
}

// Validate reports the first setting that is missing or out of range.
func (s Settings) Validate() error {
	switch {
	case s.Concurrency < 1:
		return fmt.Errorf("controller: concurrency %d: want at least 1", s.Concurrency)
	case s.WriteConcurrency < 1:
		return fmt.Errorf("controller: write concurrency %d: want at least 1", s.WriteConcurrency)
	case s.Policy == nil:
		return errors.New("controller: no policy")
	case !(s.MaxDeleteShare >= 0 && s.MaxDeleteShare <= 1):
		return fmt.Errorf("controller: max delete share %v is not between 0 and 1", s.MaxDeleteShare)
	case s.ProofListingTTL < 0:
		return fmt.Errorf("controller: proof listing TTL %v is negative", s.ProofListingTTL)
	}
	return nil
}

// Controller reconciles scopes.
type Controller struct {
	parts    Parts
	settings Settings
	guards   []plan.Guard
	log      *slog.Logger
	shared   *shared

	// OnShardStart and OnShardDone report a full sync's progress; they may
	// be called concurrently.
	OnShardStart func(source.Shard)
	OnShardDone  func(ShardReport)
	// Progress, when set, observes every shard of a full sync as it goes
	// (see ShardEvent); it may be called concurrently.
	Progress func(ShardEvent)

	// checkpoints: see SetCheckpoints (checkpoint.go).
	checkpoints     Checkpointer
	checkpointEvery time.Duration
	checkpointPages int
}

// shared is what every view of a controller (WithTarget) shares: the write
// slots that bound Port requests in flight, and the proof listings.
type shared struct {
	writeSlots *writeSlots
	proofs     *proofListings
}

// New builds a controller from its parts and settings.
func New(parts Parts, settings Settings) (*Controller, error) {
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	switch {
	case parts.Mapper == nil:
		return nil, errors.New("controller: no mapper")
	case parts.Source == nil:
		return nil, errors.New("controller: no source")
	case parts.Target == nil:
		return nil, errors.New("controller: no target")
	case parts.AccountID == "":
		return nil, errors.New("controller: no account id")
	}
	log := parts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Controller{
		parts:    parts,
		settings: settings,
		guards:   plan.Guards(settings.MaxDeleteShare),
		log:      log,
		shared: &shared{
			writeSlots: newWriteSlots(settings.WriteConcurrency, settings.WriteSlots),
			proofs:     newProofListings(settings.ProofListingTTL),
		},
	}, nil
}

// WithTarget returns a view of the controller that writes to t, sharing the
// write slots and proof listings (the events batch shares bulk upserts that way).
func (c *Controller) WithTarget(t Target) *Controller {
	v := *c
	v.parts.Target = t
	return &v
}

// Settings are the controller's settings, as built.
func (c *Controller) Settings() Settings { return c.settings }

// AccountID is the account the controller reads.
func (c *Controller) AccountID() string { return c.parts.AccountID }

// Mapper is the compiled config.
func (c *Controller) Mapper() *mapping.Mapper { return c.parts.Mapper }

// Scope is what one reconcile covers: a whole shard, or the shard narrowed to
// some resources and entities.
type Scope struct {
	Shard source.Shard
	// Resources are Cloud Control identifiers to read (and upsert what they
	// map to). With Entities, they narrow the scope; both empty is the whole
	// shard.
	Resources []string
	// Entities are entity identifiers (in the kind's blueprints) that may be
	// deleted if AWS proves that no resource of the shard maps to them.
	Entities []string
	// NotBefore is the earliest start of a listing that may prove a
	// deletion: the time the message that asked for the scope arrived.
	NotBefore time.Time
}

// Narrowed is true for a scope about some resources, not a whole shard.
func (s Scope) Narrowed() bool { return len(s.Resources) > 0 || len(s.Entities) > 0 }

// ShardReport is what happened to one scope.
type ShardReport struct {
	Shard    source.Shard
	Narrowed bool
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
	// Errors keep their types: classify them with errors.As / errors.Is
	// (source.IsTransient, *mapping.Error, *port.APIError, ...).
	Errors   []error
	Duration time.Duration
	// Plan is the computed deletion plan.
	Plan plan.Plan

	// For narrowed scopes: what each read found, the entities written and
	// deleted, and notes for people (why nothing was deleted, ...).
	Reads    []Read
	Entities []entity.Entity
	Deletes  []entity.Ref
	Notes    []string
	// Ignored is set when the config does not sync the scope's kind in its
	// region: nothing was read or written.
	Ignored bool
}

// Read is one GetResource of a narrowed scope.
type Read struct {
	Identifier string
	Found      bool
	// Selected is false when the selector rejects the found resource.
	Selected bool
	Err      error
}

// OK is true when the scope had no error.
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

// Shards lists the shards the config asks for: one per kind and region, with
// the union of the resource models the config names for that region.
func (c *Controller) Shards() ([]source.Shard, error) {
	var shards []source.Shard
	m := c.parts.Mapper
	accounts := c.accounts()
	for _, kind := range m.Kinds() {
		configured := false
		for _, r := range m.ForKind(kind) {
			// A regionPolicy's regions may come from the accounts'
			// discovered ones (one that allows none is refused at build).
			configured = configured || r.RegionPolicy() != nil ||
				slices.ContainsFunc(r.Regions(c.parts.DefaultRegion), func(s string) bool { return s != "" })
		}
		if !configured {
			return nil, fmt.Errorf("kind %s: no region configured and no default region (set AWS_REGION or selector.aws.regions)", kind)
		}
		for _, a := range accounts {
			models := map[string][]string{}
			var regions []string
			for _, r := range m.ForKind(kind) {
				for _, region := range c.regionsOf(r, a) {
					if _, seen := models[region]; !seen {
						regions = append(regions, region)
						models[region] = nil
					}
					models[region] = appendMissing(models[region], r.ResourceModels(region)...)
				}
			}
			for _, region := range regions {
				shards = append(shards, source.Shard{AccountID: a.ID, Region: region, Kind: kind, ResourceModels: models[region]})
			}
		}
	}
	return shards, nil
}

// Shard returns the configured shard of kind in region of this account, with
// the config's resource models, and false when the config does not sync it.
// Shard messages name a shard; what to list comes from here, not from them.
func (c *Controller) Shard(accountID, region, kind string) (source.Shard, bool) {
	if _, ok := c.account(accountID); !ok {
		return source.Shard{}, false
	}
	shards, err := c.Shards()
	if err != nil {
		return source.Shard{}, false
	}
	for _, sh := range shards {
		if sh.AccountID == accountID && sh.Region == region && sh.Kind == kind {
			return sh, true
		}
	}
	return source.Shard{}, false
}

// applicable lists the config entries that map the shard's kind in its
// region and account: the one rule for which entries a shard, a listing or
// an event uses.
func (c *Controller) applicable(shard source.Shard) []*mapping.Resource {
	a, ok := c.account(shard.AccountID)
	if !ok {
		a = Account{ID: shard.AccountID}
	}
	var out []*mapping.Resource
	for _, r := range c.parts.Mapper.ForKind(shard.Kind) {
		if slices.Contains(c.regionsOf(r, a), shard.Region) {
			out = append(out, r)
		}
	}
	return out
}

func appendMissing(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// Run reconciles every shard of the config with bounded concurrency: the
// full sync. Deletions wait until every shard has listed, so an entity that
// one shard produces (an S3 bucket seen from two regions) is never deleted
// as stale by another.
func (c *Controller) Run(ctx context.Context) (Report, error) {
	start := time.Now()
	if c.parts.Accounts != nil {
		if err := c.parts.Accounts.Refresh(ctx); err != nil {
			return Report{}, err
		}
	}
	shards, err := c.Shards()
	if err != nil {
		return Report{}, err
	}
	c.warnAccountsWithoutShards(shards)
	var gate *accountGate
	if c.parts.Accounts != nil && c.parts.Accounts.MaxConcurrent() > 0 {
		// Accounts one after another, so that the shards waiting for an
		// account's turn are few.
		gate = newAccountGate(c.parts.Accounts.MaxConcurrent())
		sort.SliceStable(shards, func(i, j int) bool { return shards[i].AccountID < shards[j].AccountID })
		shards = interleaveRegions(shards, true)
	} else {
		shards = interleaveRegions(shards, false)
	}
	works := make([]*shardWork, len(shards))
	// A plain Group, not WithContext: a shard's work outlives this phase (its
	// early ownership search is read in the next), and no shard's failure
	// should cancel another's; each reports its own errors.
	var g errgroup.Group
	g.SetLimit(c.settings.Concurrency)
	for i, sh := range shards {
		g.Go(func() error {
			leave, err := gate.enter(ctx, sh.AccountID)
			if err != nil {
				works[i] = newShardWork(sh, false)
				works[i].blocked = true
				works[i].fail(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
				return nil
			}
			defer leave()
			works[i] = c.prepareRun(ctx, sh)
			works[i].compact() // its listing is done: nothing joins its set any more
			return nil
		})
	}
	_ = g.Wait()
	if c.parts.Accounts != nil {
		crossAccount(works)
	}

	// Looked up in every shard's set rather than merged into one: at
	// 1,000,000 resources a merged copy was a quarter of the live heap, and
	// the plan asks only about the few entities its own shard did not list.
	protected := func(r entity.Ref) bool {
		for _, w := range works {
			if w.isDesired(r) {
				return true
			}
		}
		return false
	}
	reports := make([]ShardReport, len(works))
	g = errgroup.Group{}
	g.SetLimit(c.settings.Concurrency)
	for i, w := range works {
		g.Go(func() error {
			reports[i] = c.finish(ctx, w, protected)
			c.clearCheckpoint(ctx, reports[i])
			return nil
		})
	}
	_ = g.Wait()
	sort.SliceStable(reports, func(i, j int) bool {
		a, b := reports[i].Shard, reports[j].Shard
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Region < b.Region
	})
	return Report{Shards: reports, Duration: time.Since(start)}, ctx.Err()
}

// Reconcile reconciles one scope: a whole shard on its own (Lambda's fan-out
// runs each shard this way), or a narrowed one (an event).
func (c *Controller) Reconcile(ctx context.Context, scope Scope) ShardReport {
	if scope.Narrowed() {
		return c.reconcileNarrowed(ctx, scope)
	}
	return c.finish(ctx, c.prepare(ctx, scope.Shard), nil)
}

// interleaveRegions orders shards so that consecutive shards are in
// different regions: every region's first shard, then every region's second,
// and so on. AWS's rate limit is per region, so with Concurrency shards
// running, this keeps as many regions busy as possible instead of spending
// one region's budget on several of its kinds while another region waits.
// Within a region, the config's order is kept. The budget is per account
// and region, so several accounts interleave by (account, region); with
// byAccount (accounts gated, max_concurrent_accounts), each account's
// shards stay together, interleaved by region among themselves.
func interleaveRegions(shards []source.Shard, byAccount bool) []source.Shard {
	if byAccount {
		out := make([]source.Shard, 0, len(shards))
		for start := 0; start < len(shards); {
			end := start
			for end < len(shards) && shards[end].AccountID == shards[start].AccountID {
				end++
			}
			out = append(out, interleaveRegions(shards[start:end], false)...)
			start = end
		}
		return out
	}
	type budget struct{ account, region string }
	byRegion := map[budget][]source.Shard{}
	var regions []budget
	for _, sh := range shards {
		k := budget{sh.AccountID, sh.Region}
		if _, seen := byRegion[k]; !seen {
			regions = append(regions, k)
		}
		byRegion[k] = append(byRegion[k], sh)
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

// shardWork carries a shard between the listing and the deletion phase. It
// keeps references only: entities are upserted as soon as a bulk request's
// worth is mapped, so memory follows the identifiers, not the documents.
type shardWork struct {
	shard   source.Shard
	started time.Time
	// busy is how long the listing phase took: a full sync's shard then
	// waits for the others, which is not its own time.
	busy time.Duration
	// unlogged are the errors not logged where they happened (mapping and
	// write errors are), for the shard's closing log line.
	unlogged []error
	// blocked is a shard that read nothing (its account cannot be read):
	// there is no ownership to search and nothing to delete.
	blocked bool

	mu      sync.Mutex
	report  ShardReport
	desired map[entity.Ref]struct{}
	// desiredSorted replaces desired once a full sync's listing is done
	// (desired.go).
	desiredSorted []entity.Ref
	// early is the ownership search of the mappings' fixed blueprints,
	// started with the listing so that it does not add to the shard's time;
	// earlyBlueprints are the blueprints it covers.
	early           chan ownedResult
	earlyBlueprints []string
	// seg is set for a segment of a run read over several calls.
	seg *segmentWork
}

type ownedResult struct {
	refs []entity.Ref
	err  error
}

func newShardWork(shard source.Shard, narrowed bool) *shardWork {
	return &shardWork{
		shard:   shard,
		report:  ShardReport{Shard: shard, Narrowed: narrowed, Upserts: map[string]int{}},
		started: time.Now(),
		desired: map[entity.Ref]struct{}{},
	}
}

// searchOwnedEarly starts the ownership search of the blueprints the shard's
// mappings name statically. Entities written after the search started are
// desired ones, which the plan never deletes, so searching early is safe.
func (c *Controller) searchOwnedEarly(ctx context.Context, w *shardWork) {
	w.earlyBlueprints = c.staticBlueprints(w.shard.Kind)
	if len(w.earlyBlueprints) == 0 {
		return
	}
	w.early = make(chan ownedResult, 1)
	go func() {
		refs, err := c.parts.Target.Owned(ctx, w.shard, w.earlyBlueprints)
		w.early <- ownedResult{refs, err}
	}()
}

// owned lists what the shard owns: the early search's result, plus a search
// of the blueprints that only this run's entities revealed.
func (c *Controller) owned(ctx context.Context, w *shardWork) ([]entity.Ref, error) {
	var refs []entity.Ref
	if w.blocked {
		return nil, nil
	}
	if w.early != nil {
		r := <-w.early
		if r.err != nil {
			return nil, r.err
		}
		refs = r.refs
	}
	var rest []string
	for _, bp := range c.blueprintsFor(w) {
		if !slices.Contains(w.earlyBlueprints, bp) {
			rest = append(rest, bp)
		}
	}
	if len(rest) == 0 {
		return refs, nil
	}
	more, err := c.parts.Target.Owned(ctx, w.shard, rest)
	return append(refs, more...), err
}

// prepare lists and maps the shard's resources and upserts the entities.
func (c *Controller) prepare(ctx context.Context, shard source.Shard) *shardWork {
	if c.OnShardStart != nil {
		c.OnShardStart(shard)
	}
	return c.prepareWork(ctx, newShardWork(shard, false))
}

// prepareWork is prepare for a work that may carry a segment of a run read
// over several calls (continue.go): its earlier segments' entities and
// ownership search, and where its listing resumes and pauses.
func (c *Controller) prepareWork(ctx context.Context, w *shardWork) *shardWork {
	shard := w.shard
	c.progress(w, ShardStarted)
	defer func() {
		w.busy = time.Since(w.started)
		c.progress(w, ShardListed)
	}()
	log := c.log.With("shard", shard.String())
	if a, ok := c.account(shard.AccountID); !ok || a.Err != nil {
		// Never read with other credentials than the account's own.
		err := ErrUnknownAccount
		if ok {
			err = a.Err
		}
		w.blocked = true
		w.fail(&AccountError{AccountID: shard.AccountID, Err: err})
		return w
	}
	applicable := c.applicable(shard)
	if len(applicable) == 0 {
		w.fail(fmt.Errorf("no config entry maps %s in %s", shard.Kind, shard.Region))
		return w
	}
	if w.early == nil {
		c.searchOwnedEarly(ctx, w)
	}
	up := c.newUpserter(ctx, w, log)
	err := c.listSegment(ctx, w, listOptions(applicable), log, func(res source.Resource) error {
		produced, problems, skipped := mapResource(ctx, applicable, res)
		w.mu.Lock()
		w.report.Listed++
		if skipped {
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
		c.progress(w, ShardListing)
		return nil
	})
	up.close()
	if err != nil {
		w.fail(err)
	}
	return w
}

// listOptions: ListResources' properties are trusted only when every entry
// of the shard says so.
func listOptions(applicable []*mapping.Resource) source.ListOptions {
	trust := true
	for _, r := range applicable {
		trust = trust && r.TrustListProperties
	}
	return source.ListOptions{TrustListProperties: trust}
}

// mapResource maps one resource through every applicable entry. A partly
// failed mapping still yields the entities that did map: they are true and
// are upserted, while the error keeps the scope from deleting anything.
// skipped is true when every entry's selector rejected the resource.
func mapResource(ctx context.Context, applicable []*mapping.Resource, res source.Resource) (produced []entity.Entity, problems []error, skipped bool) {
	rejected := 0
	for _, r := range applicable {
		result, err := r.Map(ctx, res)
		if err != nil {
			problems = append(problems, err)
		} else if !result.Selected {
			rejected++
			continue
		}
		produced = append(produced, result.Entities...)
	}
	return produced, problems, rejected == len(applicable)
}

// finish computes the deletions of a prepared full scope and applies them.
func (c *Controller) finish(ctx context.Context, w *shardWork, protected func(entity.Ref) bool) ShardReport {
	began := time.Now()
	log := c.log.With("shard", w.shard.String())
	var owned []entity.Ref
	if ctx.Err() == nil {
		var err error
		if owned, err = c.owned(ctx, w); err != nil {
			w.fail(fmt.Errorf("list owned entities: %w", err))
		}
	} else if w.early != nil {
		<-w.early
	}
	if ctx.Err() != nil {
		w.fail(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	}
	desired := w.desiredRefs()
	p := plan.Calculate(plan.Input{
		Desired:   desired,
		Owned:     owned,
		Problems:  w.report.Errors,
		Protected: protected,
		// The whole shard was listed: an owned entity no resource produced
		// is proven gone (any listing error withholds everything instead).
		Proven: func(entity.Ref) bool { return true },
	}, c.settings.Policy, c.guards...)
	c.apply(ctx, w, p, log)
	w.report.Duration = w.busy + time.Since(began)
	logShardDone(log, w.report, w.unlogged)
	if c.OnShardDone != nil {
		c.OnShardDone(w.report)
	}
	c.progress(w, ShardDone)
	return w.report
}

// apply records the plan in the report and makes its deletions.
func (c *Controller) apply(ctx context.Context, w *shardWork, p plan.Plan, log *slog.Logger) {
	w.report.Plan = p
	w.report.Withheld = p.Withheld
	for _, wh := range p.Withheld {
		log.Warn("stale entity kept", "entity", wh.Ref.String(), "reason", wh.Reason)
	}
	if len(p.Deletes) == 0 {
		return
	}
	for _, res := range c.parts.Target.Delete(ctx, w.shard, p.Deletes) {
		if res.Err != nil {
			w.report.Failed++
			w.report.Errors = append(w.report.Errors, fmt.Errorf("delete %s: %w", res.Ref, res.Err))
			log.Error("delete failed", "entity", res.Ref.String(), "error", res.Err)
			continue
		}
		w.report.Deleted++
		w.report.Deletes = append(w.report.Deletes, res.Ref)
		log.Info("deleted entity", "entity", res.Ref.String())
	}
}

// staticBlueprints are the blueprints the kind's mappings name without
// depending on the resource.
func (c *Controller) staticBlueprints(kind string) []string {
	var out []string
	for _, r := range c.parts.Mapper.ForKind(kind) {
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
func (c *Controller) blueprintsFor(w *shardWork) []string {
	set := map[string]bool{}
	for _, bp := range c.staticBlueprints(w.shard.Kind) {
		set[bp] = true
	}
	for _, ref := range w.desiredRefs() {
		set[ref.Blueprint] = true
	}
	out := make([]string, 0, len(set))
	for bp := range set {
		out = append(out, bp)
	}
	sort.Strings(out)
	return out
}

// logShardDone records a shard's outcome. serve and Lambda have no summary
// table, so the errors of a failed shard that were not logged where they
// happened (a listing's AccessDenied or TypeNotFound, a failed ownership
// search) are logged here in full; mapping and write errors were logged
// one by one and are only counted, so that no error is printed twice.
func logShardDone(log *slog.Logger, r ShardReport, unlogged []error) {
	attrs := []any{"listed", r.Listed, "mapped", r.Mapped, "upserted", r.Upserted, "deleted", r.Deleted,
		"failed", r.Failed, "kept", len(r.Withheld), "took", r.Duration}
	if r.OK() {
		log.Info("shard synced", attrs...)
		return
	}
	errs := make([]string, 0, min(len(unlogged), maxLoggedErrors+1))
	for i, err := range unlogged {
		if i == maxLoggedErrors {
			errs = append(errs, fmt.Sprintf("and %d more", len(unlogged)-maxLoggedErrors))
			break
		}
		errs = append(errs, err.Error())
	}
	if above := len(r.Errors) - len(unlogged); above > 0 {
		attrs = append(attrs, "errors_logged_above", above)
	}
	if len(errs) > 0 {
		attrs = append(attrs, "errors", errs)
	}
	log.Error("shard failed", attrs...)
}

// maxLoggedErrors bounds the errors of one "shard failed" line; each failed
// mapping or write is also logged on its own.
const maxLoggedErrors = 20

func (w *shardWork) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Errors = append(w.report.Errors, err)
	w.unlogged = append(w.unlogged, err)
}

func (w *shardWork) note(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Notes = append(w.report.Notes, s)
}

// ErrFailed is returned by callers that turn a report with errors into an exit code.
var ErrFailed = errors.New("sync finished with errors")

// Target is where the controller writes.
func (c *Controller) Target() Target { return c.parts.Target }
