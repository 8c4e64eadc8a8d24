package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/jsonvalue"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// MappingResult compares the exporter's mapping with the jq binary on the
// same documents and the same program. Both sides do the same work: parse
// each document from JSON, evaluate the selector, identifier, title and
// twelve properties, and print the entity as JSON.
type MappingResult struct {
	Documents int `json:"documents"`
	// Ours is the exporter's mapping (internal/mapping, gojq) in one goroutine.
	Ours MappingRun `json:"ours"`
	// JQ is the jq binary (jq -c) over the same file; nil when jq is absent.
	JQ        *MappingRun `json:"jq,omitempty"`
	JQVersion string      `json:"jqVersion,omitempty"`
}

// MappingRun is one side's figures.
type MappingRun struct {
	Wall time.Duration `json:"wall"`
	CPU  time.Duration `json:"cpu"`
	// PerCoreSecond is entities per CPU second.
	PerCoreSecond float64 `json:"perCoreSecond"`
	Entities      int     `json:"entities"`
	// InMap is the time spent inside mapping.Resource.Map (the exporter
	// only): the mapping alone, without parsing and printing.
	InMap time.Duration `json:"inMap,omitempty"`
	// MapAlone is Map by itself, in a pass of its own (MapOnly): the
	// process's CPU time, which a loaded machine does not inflate as it
	// does InMap's wall time.
	MapAlone *MappingRun `json:"mapAlone,omitempty"`
}

// WriteDocuments writes n documents of kind as JSON lines to path.
func WriteDocuments(path, kind string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create the document file: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range n {
		_, props := Document(kind, "eu-west-1", i)
		if err := enc.Encode(props); err != nil {
			f.Close()
			return fmt.Errorf("write document %d to %s: %w", i, path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// MapFile maps every document of the JSON-lines file at path through the
// bench config of kind and writes each entity as one JSON line to out, in
// this goroutine. It returns how many entities it wrote and the time spent
// inside Map.
func MapFile(ctx context.Context, path, kind string, out io.Writer) (n int, inMap time.Duration, err error) {
	sc := Scenario{Kinds: []string{kind}, Regions: []string{"eu-west-1"}}
	cfg, err := config.Parse(ConfigJSON(sc), config.JSON)
	if err != nil {
		return 0, 0, fmt.Errorf("parse the bench config: %w", err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("compile the bench config: %w", err)
	}
	m := mapper.ForKind(kind)[0]
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("open the document file: %w", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	w := bufio.NewWriter(out)
	var buf, body []byte
	for line := 1; lines.Scan(); line++ {
		// Parsed as the Cloud Control reader parses a document.
		props, err := source.DecodeProperties(lines.Bytes())
		if err != nil {
			return n, inMap, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		began := time.Now()
		res, err := m.Map(ctx, source.Resource{AccountID: AccountID, Region: "eu-west-1", Kind: kind, Identifier: fmt.Sprint(props["Name"]), Properties: props})
		inMap += time.Since(began)
		if err != nil {
			return n, inMap, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		for _, e := range res.Entities {
			// Printed as the Port client encodes an entity's body, with
			// the blueprint in front (Port has it in the URL; jq prints it).
			if body, err = port.AppendEntity(body[:0], e); err != nil {
				return n, inMap, fmt.Errorf("write entity: %w", err)
			}
			buf = jsonvalue.AppendString(append(buf[:0], `{"blueprint":`...), e.Blueprint)
			buf = append(append(append(buf, ','), body[1:]...), '\n')
			if _, err := w.Write(buf); err != nil {
				return n, inMap, fmt.Errorf("write entity: %w", err)
			}
			n++
		}
	}
	if err := lines.Err(); err != nil {
		return n, inMap, fmt.Errorf("read %s: %w", path, err)
	}
	return n, inMap, w.Flush()
}

// mapOnlyDocuments is how many documents MapOnly decodes and maps in turn.
const mapOnlyDocuments = 5000

// MapOnly decodes the first documents of the file at path (at most
// mapOnlyDocuments), then maps them in turn until it has mapped n, in this
// goroutine, and measures the mapping alone: wall and process CPU time
// (GC included) of the mapping loop, no decoding or printing in it.
func MapOnly(ctx context.Context, path, kind string, n int) (MappingRun, error) {
	sc := Scenario{Kinds: []string{kind}, Regions: []string{"eu-west-1"}}
	cfg, err := config.Parse(ConfigJSON(sc), config.JSON)
	if err != nil {
		return MappingRun{}, fmt.Errorf("parse the bench config: %w", err)
	}
	mapper, err := mapping.Compile(cfg)
	if err != nil {
		return MappingRun{}, fmt.Errorf("compile the bench config: %w", err)
	}
	m := mapper.ForKind(kind)[0]
	f, err := os.Open(path)
	if err != nil {
		return MappingRun{}, fmt.Errorf("open the document file: %w", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var docs []source.Resource
	for lines.Scan() && len(docs) < mapOnlyDocuments {
		props, err := source.DecodeProperties(lines.Bytes())
		if err != nil {
			return MappingRun{}, fmt.Errorf("%s line %d: %w", path, len(docs)+1, err)
		}
		docs = append(docs, source.Resource{AccountID: AccountID, Region: "eu-west-1", Kind: kind, Identifier: fmt.Sprint(props["Name"]), Properties: props})
	}
	if len(docs) == 0 {
		return MappingRun{}, fmt.Errorf("%s: no documents", path)
	}
	run := MappingRun{}
	cpu0, start := processCPU(), time.Now()
	for i := range n {
		res, err := m.Map(ctx, docs[i%len(docs)])
		if err != nil {
			return run, fmt.Errorf("map document %d: %w", i%len(docs), err)
		}
		run.Entities += len(res.Entities)
	}
	run.Wall, run.CPU = time.Since(start), processCPU()-cpu0
	run.PerCoreSecond = float64(run.Entities) / run.CPU.Seconds()
	return run, nil
}

// FindJQ finds the jq binary: $JQ, then PATH. Empty when there is none.
func FindJQ() string {
	if p := os.Getenv("JQ"); p != "" {
		return p
	}
	p, _ := exec.LookPath("jq")
	return p
}

// RunJQ runs the jq binary with the bench program of kind over the file at
// path, writing to out, and returns its wall and CPU time.
func RunJQ(ctx context.Context, jqPath, path, kind string, out io.Writer) (wall, cpu time.Duration, err error) {
	cmd := exec.CommandContext(ctx, jqPath, "-c", JQProgram(kind), path)
	cmd.Stdout = out
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return wall, 0, fmt.Errorf("%s: %w: %s", jqPath, err, stderr.String())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// JQVersion is what jqPath --version prints.
func JQVersion(ctx context.Context, jqPath string) (string, error) {
	out, err := exec.CommandContext(ctx, jqPath, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", jqPath, err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// RunMapping measures the mapping scenario: n documents written to dir,
// mapped by the exporter and by the jq binary at jqPath (skipped if empty).
func RunMapping(ctx context.Context, dir string, n int, jqPath string) (MappingResult, error) {
	kind := DefaultKinds[0]
	path := filepath.Join(dir, "documents.jsonl")
	if err := WriteDocuments(path, kind, n); err != nil {
		return MappingResult{}, err
	}
	res := MappingResult{Documents: n}
	counter := &lineCounter{}
	cpu0 := processCPU()
	start := time.Now()
	entities, inMap, err := MapFile(ctx, path, kind, counter)
	res.Ours = MappingRun{Wall: time.Since(start), CPU: processCPU() - cpu0, Entities: entities, InMap: inMap}
	if err != nil {
		return res, err
	}
	res.Ours.PerCoreSecond = float64(entities) / res.Ours.CPU.Seconds()
	alone, err := MapOnly(ctx, path, kind, n)
	if err != nil {
		return res, err
	}
	res.Ours.MapAlone = &alone
	if jqPath == "" {
		return res, nil
	}
	if res.JQVersion, err = JQVersion(ctx, jqPath); err != nil {
		return res, err
	}
	jqCounter := &lineCounter{}
	wall, cpu, err := RunJQ(ctx, jqPath, path, kind, jqCounter)
	if err != nil {
		return res, err
	}
	res.JQ = &MappingRun{Wall: wall, CPU: cpu, Entities: jqCounter.lines, PerCoreSecond: float64(jqCounter.lines) / cpu.Seconds()}
	if jqCounter.lines != entities {
		return res, fmt.Errorf("jq printed %d entities, the exporter %d: the programs differ", jqCounter.lines, entities)
	}
	return res, nil
}

// processCPU is the user and system time this process has used so far.
// The process's other goroutines (GC included) count too: that is the
// honest cost of mapping in Go.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lineCounter is an io.Writer that counts newlines and keeps nothing.
type lineCounter struct{ lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return len(p), nil
}

// limitedBuffer keeps the first 4 kB written to it (a child's stderr).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
