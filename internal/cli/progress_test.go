package cli

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbauerster/cupwriter"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// terminal is a writer that stands for a terminal.
type terminal struct{ lockedBuffer }

func (*terminal) Terminal() bool { return true }

func feed(pr *Progress, shards int, pause time.Duration) {
	var wg sync.WaitGroup
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := source.Shard{AccountID: "1", Region: "eu-west-1", Kind: "AWS::SQS::Queue"}
			if i%2 == 1 {
				sh.Region = "us-east-1"
			}
			sh.Kind += strings.Repeat("x", i/2) // distinct shards
			pr.Observe(controller.ShardEvent{Shard: sh, Phase: controller.ShardStarted})
			for n := 1; n <= 30; n++ {
				pr.Observe(controller.ShardEvent{Shard: sh, Phase: controller.ShardListing, Listed: n, Mapped: n, Upserted: n - 1})
				time.Sleep(pause)
			}
			failed := 0
			if i == 3 {
				failed = 1
			}
			pr.Observe(controller.ShardEvent{Shard: sh, Phase: controller.ShardListed, Listed: 30, Mapped: 30, Upserted: 30, Failed: failed})
		}()
	}
	wg.Wait()
}

// Off a terminal: one plain line per shard, numbered 1..n once each, no
// escape sequences.
func TestProgressPlainLines(t *testing.T) {
	var out lockedBuffer
	pr := NewProgress(&out, ProgressOptions{Shards: 6})
	feed(pr, 6, 0)
	pr.Wait()
	got := out.String()
	if strings.Contains(got, "\x1b") {
		t.Errorf("escape sequences off a terminal:\n%q", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), got)
	}
	for n := 1; n <= 6; n++ {
		if c := strings.Count(got, "["+string(rune('0'+n))+"/6]"); c != 1 {
			t.Errorf("[%d/6] appears %d times:\n%s", n, c, got)
		}
	}
	if !strings.Contains(got, "✗") || !strings.Contains(got, "listed 30, written 30, 1 failed") {
		t.Errorf("the failed shard is not marked:\n%s", got)
	}
}

// On a terminal the bars are redrawn in place: the display moves the cursor
// back up over its previous frame instead of appending frames, and the
// shard lines print above the bars.
func TestProgressLiveRedrawsInPlace(t *testing.T) {
	out := &terminal{}
	pr := NewProgress(out, ProgressOptions{Shards: 4, Live: true, Width: 100, console: fixedTerminal{cupwriter.New(out, true)}})
	feed(pr, 4, 10*time.Millisecond) // 300 ms: a few frames
	if _, err := pr.Writer().Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	pr.Wait()
	got := out.String()
	if n := len(regexp.MustCompile(`\x1b\[\d+A`).FindAllString(got, -1)); n < 2 {
		t.Fatalf("%d cursor-up sequences: not redrawn in place:\n%q", n, got)
	}
	for _, want := range []string{"[4/4]", "a log line", "shards listed"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%q", want, got)
		}
	}
}

func TestColorFollowsNoColorAndTerm(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("NO_COLOR", "")
	if !ColorAllowed(&terminal{}) {
		t.Error("no color on a terminal without NO_COLOR")
	}
	if ColorAllowed(&bytes.Buffer{}) {
		t.Error("color off a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if ColorAllowed(&terminal{}) {
		t.Error("color with NO_COLOR=1")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if ColorAllowed(&terminal{}) {
		t.Error("color with TERM=dumb")
	}
	if paint(false, red, "x") != "x" || paint(true, red, "x") != "\x1b[31mx\x1b[0m" {
		t.Error("paint")
	}
}

// fixedTerminal is mpb's own terminal writer (ANSI cursor-up and erase) with
// a terminal size, since the test's writer has none.
type fixedTerminal struct{ *cupwriter.Writer }

func (fixedTerminal) GetTermSize() (int, int, error) { return 100, 30, nil }

func (fixedTerminal) IsTerminal() bool { return true }
