package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// Progress shows a full sync's shards as they go. On a terminal it redraws
// in place (github.com/vbauerster/mpb/v8: several bars at once, fitted to
// the terminal's size, lines printed above them): one bar per running
// shard (entities written of those mapped so far) under a bar of the shards
// done, and a line per shard as its listing ends. Elsewhere (a pipe, a file,
// CI) it prints only those lines. Observe is the controller's Progress
// hook; Writer is where logs go meanwhile, so that on a terminal they print
// above the bars instead of through them.
type Progress struct {
	out    io.Writer
	color  bool
	total  int
	cmp    *target.Comparing
	dryRun bool
	mu     sync.Mutex
	done   int
	listed int
	start  time.Time

	p     *mpb.Progress // nil off a terminal
	all   *mpb.Bar
	bars  map[string]*mpb.Bar
	state map[string]controller.ShardEvent
	began map[string]time.Time
}

// ProgressOptions say how to draw.
type ProgressOptions struct {
	// Shards is how many shards the sync has.
	Shards int
	// Live redraws in place (a terminal).
	Live bool
	// Color marks ok and failed (ColorAllowed).
	Color bool
	// Compared, when set, adds new/changed/unchanged to the shard lines.
	Compared *target.Comparing
	// Width of the live display; 0 is the terminal's.
	Width int
	// DryRun says "to write" instead of "written".
	DryRun bool

	// console replaces mpb's terminal writer (tests: a fixed terminal size).
	console mpb.ConsoleWriter
}

// NewProgress starts the display on out.
func NewProgress(out io.Writer, opts ProgressOptions) *Progress {
	pr := &Progress{out: out, color: opts.Color, total: opts.Shards, cmp: opts.Compared, dryRun: opts.DryRun, start: time.Now(),
		bars: map[string]*mpb.Bar{}, state: map[string]controller.ShardEvent{}, began: map[string]time.Time{}}
	if !opts.Live {
		return pr
	}
	options := []mpb.ContainerOption{mpb.WithOutput(out), mpb.WithRefreshRate(120 * time.Millisecond), mpb.ForceTTY()}
	if opts.Width > 0 {
		options = append(options, mpb.WithWidth(opts.Width))
	}
	if opts.console != nil {
		options = append(options, mpb.WithConsoleWriter(opts.console))
	}
	pr.p = mpb.New(options...)
	// Bars start with total 0 and get their totals with SetTotal(n, false):
	// reaching the total then does not complete them; only Observe (a
	// shard's end of listing) and Wait do. A completed total bar would let
	// mpb stop flushing what is written above it (the deletions' logs).
	pr.all = pr.p.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarPriority(1<<30), // always the bottom line
		mpb.PrependDecorators(
			decor.Name("shards listed ", decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string {
				pr.mu.Lock()
				defer pr.mu.Unlock()
				return fmt.Sprintf("%d/%d", pr.done, pr.total)
			}, decor.WCSyncWidth),
		),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				pr.mu.Lock()
				defer pr.mu.Unlock()
				return fmt.Sprintf("resources %d", pr.listed)
			}, decor.WCSyncSpace),
			decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace),
		),
	)
	pr.all.SetTotal(int64(max(opts.Shards, 1)), false)
	return pr
}

// Writer is where logs go while the display runs.
func (pr *Progress) Writer() io.Writer {
	if pr.p == nil {
		return pr.out
	}
	return pr.p
}

// Observe takes the controller's events; it is safe for concurrent use.
// No mpb call is made holding pr.mu: the decorators take it while mpb
// renders, and mpb's calls wait for the renderer.
func (pr *Progress) Observe(ev controller.ShardEvent) {
	key := ev.Shard.String()
	var fresh *mpb.Bar
	if ev.Phase == controller.ShardStarted && pr.p != nil {
		fresh = pr.newShardBar(ev.Shard)
	}
	pr.mu.Lock()
	prev := pr.state[key]
	pr.listed += ev.Listed - prev.Listed
	pr.state[key] = ev
	var bar *mpb.Bar
	switch ev.Phase {
	case controller.ShardStarted:
		pr.began[key] = time.Now()
		if fresh != nil {
			bar = fresh
			pr.bars[key] = bar
		}
	case controller.ShardListing:
		bar = pr.bars[key]
	case controller.ShardListed:
		pr.done++
		bar = pr.bars[key]
		delete(pr.bars, key)
	}
	took, nth := time.Since(pr.began[key]), pr.done
	pr.mu.Unlock()

	if bar != nil {
		bar.SetTotal(int64(max(ev.Mapped, 1)), false)
		bar.SetCurrent(int64(ev.Upserted))
	}
	if ev.Phase != controller.ShardListed {
		return
	}
	if bar != nil {
		bar.SetTotal(-1, true) // complete: removed from the display
	}
	line := pr.line(ev, nth, took)
	if pr.p != nil {
		pr.all.Increment()
		_, _ = pr.p.Write([]byte(line))
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	_, _ = io.WriteString(pr.out, line)
}

func (pr *Progress) newShardBar(sh source.Shard) *mpb.Bar {
	key := sh.String()
	return pr.p.New(0, mpb.BarStyle().Lbound("[").Rbound("]").Filler("=").Tip(">"),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(sh.Kind+" "+sh.Region, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				pr.mu.Lock()
				ev := pr.state[key]
				pr.mu.Unlock()
				return fmt.Sprintf("listed %d  written %d/%d", ev.Listed, ev.Upserted, ev.Mapped)
			}, decor.WCSyncSpace),
			decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace),
		),
	)
}

// line is what a shard's end of listing prints: counts and its own time.
func (pr *Progress) line(ev controller.ShardEvent, n int, took time.Duration) string {
	total := pr.total
	mark := paint(pr.color, green, "✓")
	if ev.Failed > 0 {
		mark = paint(pr.color, red, "✗")
	}
	written := "written"
	if pr.dryRun {
		written = "to write"
	}
	counts := fmt.Sprintf("listed %d, %s %d", ev.Listed, written, ev.Upserted)
	if pr.cmp != nil {
		c := pr.cmp.Counts(ev.Shard)
		counts += fmt.Sprintf(" (%d new, %d changed, %d unchanged)", c.New, c.Changed, c.Unchanged)
	}
	if ev.Failed > 0 {
		counts += fmt.Sprintf(", %d failed", ev.Failed)
	}
	return fmt.Sprintf("%s [%d/%d] %s %s: %s, %s\n", mark, n, total, ev.Shard.Kind, ev.Shard.Region, counts,
		took.Round(time.Millisecond))
}

// Wait ends the display: on a terminal the bars are cleared and the
// last frame flushed. Call it after the sync returned.
func (pr *Progress) Wait() {
	if pr.p == nil {
		return
	}
	pr.mu.Lock()
	left := make([]*mpb.Bar, 0, len(pr.bars))
	for _, b := range pr.bars {
		left = append(left, b)
	}
	pr.bars = map[string]*mpb.Bar{}
	pr.mu.Unlock()
	for _, b := range left {
		b.Abort(true) // a shard that never finished listing (interrupted)
	}
	pr.all.SetTotal(-1, true)
	pr.p.Wait()
}

// SwitchWriter forwards writes to a writer that can be changed while in use:
// the logger is built before the progress display, writes through it while
// it runs, and to stderr again after. It is a terminal when the writer it
// started with is (so the log format follows stderr).
type SwitchWriter struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
}

// NewSwitchWriter starts writing to w.
func NewSwitchWriter(w io.Writer) *SwitchWriter { return &SwitchWriter{w: w, terminal: IsTerminal(w)} }

// Terminal is whether the first writer was a terminal.
func (s *SwitchWriter) Terminal() bool { return s.terminal }

func (s *SwitchWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Write(b)
}

// Set changes where writes go.
func (s *SwitchWriter) Set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}
