package continuation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Dir keeps heads and states in a local directory, for one process: serve
// on one machine (its checkpoints survive a restart) and the benchmarks. A
// head's version is the SHA-256 of its file; writes are atomic (rename) and
// checked under a lock of this process, so two processes must not share a
// directory (use S3 for replicas).
type Dir struct {
	Root string
	mu   sync.Mutex
}

func (d *Dir) String() string { return d.Root }

func (d *Dir) shardDir(shard source.Shard) string {
	return filepath.Join(d.Root, shard.AccountID, shard.Region, strings.ReplaceAll(shard.Kind, ":", "_"))
}

// Head implements Store.
func (d *Dir) Head(_ context.Context, shard source.Shard) (Head, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.head(shard)
}

func (d *Dir) head(shard source.Shard) (Head, string, error) {
	b, err := os.ReadFile(filepath.Join(d.shardDir(shard), "head.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return Head{}, "", ErrNoHead
	}
	if err != nil {
		return Head{}, "", err
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return Head{}, "", fmt.Errorf("read the head of %s: %w", shard, err)
	}
	sum := sha256.Sum256(b)
	return h, hex.EncodeToString(sum[:]), nil
}

// PutHead implements Store.
func (d *Dir) PutHead(_ context.Context, shard source.Shard, h Head, ifVersion string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ifVersion != "" {
		_, v, err := d.head(shard)
		if errors.Is(err, ErrNoHead) || (err == nil && v != ifVersion) {
			return "", ErrConflict
		}
		if err != nil {
			return "", err
		}
	}
	h.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(d.shardDir(shard), "head.json"), b); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// PutState implements Store.
func (d *Dir) PutState(_ context.Context, shard source.Shard, runID string, seq int, state []byte) (string, error) {
	rel := filepath.Join(d.shardDir(shard), "runs", runID, fmt.Sprintf("%06d-%s.json", seq, rand.Text()[:10]))
	if err := writeAtomic(rel, state); err != nil {
		return "", err
	}
	return rel, nil
}

// GetState implements Store.
func (d *Dir) GetState(_ context.Context, key string) ([]byte, error) {
	if rel, err := filepath.Rel(d.Root, key); err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("state key %q is outside %s", key, d.Root)
	}
	return os.ReadFile(key)
}

// DeleteRun implements Store.
func (d *Dir) DeleteRun(_ context.Context, shard source.Shard, runID string) error {
	return os.RemoveAll(filepath.Join(d.shardDir(shard), "runs", runID))
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp-" + rand.Text()[:8]
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

var (
	_ Store = (*S3)(nil)
	_ Store = (*Dir)(nil)
)

// DeleteState removes one state (a checkpoint replaced by the next).
func (d *Dir) DeleteState(_ context.Context, key string) error {
	if rel, err := filepath.Rel(d.Root, key); err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("state key %q is outside %s", key, d.Root)
	}
	return os.Remove(key)
}
