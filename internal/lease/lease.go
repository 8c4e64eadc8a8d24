// Package lease elects one replica of the service to run the scheduled full
// sync: a lease held in one S3 object, taken and renewed with S3's
// conditional writes (PutObject with If-None-Match: * to create it, If-Match
// with the ETag last seen to renew or take it over).
//
// The protocol is Kubernetes' leader election on another store:
//
//   - The holder rewrites the object every RenewInterval; each write changes
//     its ETag. A write refused with 412 means another replica took the
//     lease: the holder stops at once. A holder that cannot renew for
//     RenewDeadline (shorter than Duration) stops too, before anyone else may
//     take over.
//   - A contender takes the lease over only when the object's ETag has not
//     changed for Duration by its own clock (or the holder released it), so
//     clock skew between replicas does not matter; of contenders racing with
//     the same If-Match, S3 lets exactly one win.
//   - On a graceful stop the holder writes the record released, so that
//     another replica takes over within RetryInterval instead of Duration.
//
// The record also carries the time of the last full sync, so that a new
// holder waits for the rest of the interval instead of syncing at once after
// every rollout.
package lease

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of Options.
const (
	DefaultDuration      = 60 * time.Second
	DefaultRenewDeadline = 40 * time.Second
	DefaultRenewInterval = 15 * time.Second
	DefaultRetryInterval = 10 * time.Second
)

// Record is the lease object's JSON body.
type Record struct {
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
	// DurationSeconds is informative (contenders use their own Duration).
	DurationSeconds float64 `json:"duration_seconds"`
	// Released: the holder gave it up; anyone may take it at once.
	Released bool `json:"released,omitempty"`
	// LastSync is when the last full sync under this lease finished.
	LastSync time.Time `json:"last_sync,omitzero"`
	// Transitions counts the changes of holder.
	Transitions int `json:"transitions"`
}

// S3API is the part of the S3 client the lease uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Options shape a Lease. Zero durations take the defaults.
type Options struct {
	// Identity names this replica in the record (default: POD_NAME or the
	// host name, plus a random suffix).
	Identity      string
	Duration      time.Duration
	RenewDeadline time.Duration
	RenewInterval time.Duration
	RetryInterval time.Duration
	Logger        *slog.Logger
	// OnHeld, when set, learns every change of this replica's holding (a
	// metrics gauge).
	OnHeld func(held bool)
}

// Lease is one replica's view of the lease object s3://Bucket/Key.
type Lease struct {
	client      S3API
	bucket, key string
	opts        Options

	mu       sync.Mutex
	etag     string // of the object as last read or written; "" when absent
	record   Record
	observed time.Time // local time the etag was first seen
	held     bool
	lastSync time.Time // to write at the next renewal
}

// ParseURL splits s3://bucket/key.
func ParseURL(raw string) (bucket, key string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.RawQuery != "" {
		return "", "", fmt.Errorf("sync lease %q: want s3://bucket/key", raw)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

// New returns the lease at url (s3://bucket/key).
func New(client S3API, rawURL string, opts Options) (*Lease, error) {
	bucket, key, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.Duration <= 0 {
		opts.Duration = DefaultDuration
	}
	if opts.RenewDeadline <= 0 {
		opts.RenewDeadline = opts.Duration * 2 / 3
	}
	if opts.RenewInterval <= 0 {
		opts.RenewInterval = opts.Duration / 4
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = opts.Duration / 6
	}
	if opts.RenewDeadline >= opts.Duration || opts.RenewInterval >= opts.RenewDeadline {
		return nil, fmt.Errorf("sync lease: want RenewInterval (%s) < RenewDeadline (%s) < Duration (%s)", opts.RenewInterval, opts.RenewDeadline, opts.Duration)
	}
	if opts.Identity == "" {
		opts.Identity = DefaultIdentity()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Lease{client: client, bucket: bucket, key: key, opts: opts}, nil
}

// DefaultIdentity is POD_NAME (or the host name) and a random suffix, so that
// two processes on one host are told apart.
func DefaultIdentity() string {
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	var b [4]byte
	_, _ = cryptoRead(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

var cryptoRead = rand.Read

// Identity is this replica's name in the record.
func (l *Lease) Identity() string { return l.opts.Identity }

// Term is one holding of the lease, handed to the function Run calls.
type Term struct {
	l *Lease
	// LastSync is the record's last full sync when the term began (zero if none).
	LastSync time.Time
}

// Synced records the end of a full sync; the next renewal writes it.
func (t *Term) Synced(at time.Time) {
	t.l.mu.Lock()
	t.l.lastSync = at
	t.l.mu.Unlock()
}

// Run takes the lease whenever it can and, while it holds it, runs lead with
// a context that ends when the lease is lost (or ctx ends). It returns when
// ctx ends, after lead returned and the lease was released.
func (l *Lease) Run(ctx context.Context, lead func(ctx context.Context, term *Term)) {
	log := l.opts.Logger.With("lease", "s3://"+l.bucket+"/"+l.key, "identity", l.opts.Identity)
	for ctx.Err() == nil {
		// The term is counted from when the take was sent, not answered:
		// other replicas count from when S3 applied it, which is earlier
		// than a slow answer.
		sent := time.Now()
		actx, acancel := context.WithTimeout(ctx, l.opts.RenewDeadline)
		ok, err := l.TryAcquire(actx)
		acancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("sync lease: could not read or take the lease", "error", err)
		}
		if !ok {
			sleep(ctx, jitter(l.opts.RetryInterval))
			continue
		}
		log.Info("sync lease acquired: this replica runs the full sync")
		l.setHeld(true)
		term := &Term{l: l, LastSync: l.recordLastSync()}
		leadCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); lead(leadCtx, term) }()
		reason := l.hold(leadCtx, done, sent)
		cancel()
		<-done
		l.setHeld(false)
		if ctx.Err() != nil {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := l.Release(rctx); err != nil {
				log.Warn("sync lease: release failed; another replica takes over when it expires", "error", err)
			} else {
				log.Info("sync lease released")
			}
			rcancel()
			return
		}
		log.Warn("sync lease lost: this replica stops the full sync", "reason", reason)
	}
}

// hold renews until the lease is lost, lead returns, or ctx ends.
func (l *Lease) hold(ctx context.Context, done <-chan struct{}, acquired time.Time) string {
	t := time.NewTicker(l.opts.RenewInterval)
	defer t.Stop()
	lastRenew := acquired
	for {
		select {
		case <-ctx.Done():
			return "stopping"
		case <-done:
			return "lead returned"
		case <-t.C:
		}
		// A renewal may not outlast the deadline: a call hanging on a
		// broken network must not keep this replica leading.
		// Nor is it cut short by the stop: a write S3 applied whose answer
		// was dropped would leave this replica with a stale ETag, and its
		// release would then be refused.
		sent := time.Now()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(l.opts.RenewDeadline-time.Since(lastRenew), time.Millisecond))
		err := l.Renew(rctx)
		cancel()
		switch {
		case err == nil:
			lastRenew = sent
		case errors.Is(err, ErrLost):
			return err.Error()
		case time.Since(lastRenew) >= l.opts.RenewDeadline:
			return fmt.Sprintf("no renewal for %s: %v", time.Since(lastRenew).Round(time.Second), err)
		default:
			l.opts.Logger.Warn("sync lease: renewal failed; retrying", "error", err)
		}
	}
}

// ErrLost is returned by Renew when another replica holds the lease.
var ErrLost = errors.New("the lease object changed: another replica holds the lease")

// Held reports whether this replica holds the lease (as of its last write).
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

func (l *Lease) setHeld(v bool) {
	l.mu.Lock()
	l.held = v
	l.mu.Unlock()
	if l.opts.OnHeld != nil {
		l.opts.OnHeld(v)
	}
}

func (l *Lease) recordLastSync() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.record.LastSync
}

// TryAcquire reads the lease and takes it if it is absent, released, or
// unchanged for Duration since this replica first saw it.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	rec, etag, err := l.read(ctx)
	if err != nil {
		return false, err
	}
	now := time.Now()
	l.mu.Lock()
	if etag != l.etag {
		l.etag, l.record, l.observed = etag, rec, now
	}
	observed := l.observed
	l.mu.Unlock()
	if etag != "" && rec.Holder != l.opts.Identity && !rec.Released && now.Sub(observed) < l.opts.Duration {
		return false, nil
	}
	next := Record{Holder: l.opts.Identity, AcquiredAt: now.UTC(), RenewedAt: now.UTC(), DurationSeconds: l.opts.Duration.Seconds(),
		LastSync: rec.LastSync, Transitions: rec.Transitions}
	if rec.Holder != l.opts.Identity {
		next.Transitions++
	}
	if err := l.write(ctx, next, etag); err != nil {
		if errors.Is(err, ErrLost) {
			return false, nil
		}
		return false, err
	}
	// A new term: the last sync is the record's (next.LastSync), not the
	// one this replica ran in an earlier term, which a renewal would
	// otherwise write back over a newer one.
	l.mu.Lock()
	l.lastSync = time.Time{}
	l.mu.Unlock()
	return true, nil
}

// Renew rewrites the record with the ETag last written; ErrLost when the
// object changed since.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	rec, etag := l.record, l.etag
	if !l.lastSync.IsZero() {
		rec.LastSync = l.lastSync.UTC()
	}
	l.mu.Unlock()
	rec.RenewedAt = time.Now().UTC()
	return l.write(ctx, rec, etag)
}

// Release marks the record released, if this replica still holds it.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	rec, etag := l.record, l.etag
	if !l.lastSync.IsZero() {
		rec.LastSync = l.lastSync.UTC()
	}
	l.mu.Unlock()
	if rec.Holder != l.opts.Identity || etag == "" {
		return nil
	}
	rec.Released, rec.RenewedAt = true, time.Now().UTC()
	err := l.write(ctx, rec, etag)
	if !errors.Is(err, ErrLost) {
		return err
	}
	// The object changed: if it still names this replica (a write whose
	// answer was lost), release that version.
	cur, curETag, rerr := l.read(ctx)
	if rerr != nil || cur.Holder != l.opts.Identity || cur.Released || curETag == "" {
		return err
	}
	cur.Released, cur.RenewedAt = true, time.Now().UTC()
	if !rec.LastSync.IsZero() {
		cur.LastSync = rec.LastSync
	}
	return l.write(ctx, cur, curETag)
}

// read returns the record and its ETag; "" and a zero record when absent.
func (l *Lease) read(ctx context.Context) (Record, string, error) {
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(l.key)})
	if err != nil {
		// Only a missing key is an absent lease. Any other 404 (NoSuchBucket:
		// a wrong SYNC_LEASE) is an error, or every replica would wait for a
		// lease it can never take, silently.
		var nsk *types.NoSuchKey
		var ae smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey") ||
			(statusOf(err) == http.StatusNotFound && !isNoSuchBucket(err)) {
			return Record{}, "", nil
		}
		return Record{}, "", fmt.Errorf("read lease s3://%s/%s: %w", l.bucket, l.key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return Record{}, "", fmt.Errorf("read lease s3://%s/%s: %w", l.bucket, l.key, err)
	}
	var rec Record
	if err := json.Unmarshal(body, &rec); err != nil {
		// A record someone overwrote by hand: treat it as held by nobody
		// known; it expires like any other.
		rec = Record{Holder: "unreadable record"}
	}
	return rec, aws.ToString(out.ETag), nil
}

// write puts rec conditionally: on etag "" only if the object is absent,
// else only if its ETag is still etag.
func (l *Lease) write(ctx context.Context, rec Record, etag string) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(l.key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json")}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := l.client.PutObject(ctx, in)
	if err != nil {
		// 412: the condition failed; 409: a concurrent conditional write
		// won (S3 answers ConditionalRequestConflict); 404 on If-Match: the
		// object was deleted.
		status := statusOf(err)
		if status == http.StatusNotFound && (etag == "" || isNoSuchBucket(err)) {
			// Not a lost lease: the bucket is not there.
			return fmt.Errorf("write lease s3://%s/%s: %w", l.bucket, l.key, err)
		}
		switch status {
		case http.StatusPreconditionFailed, http.StatusConflict, http.StatusNotFound:
			l.mu.Lock()
			l.held = false
			l.mu.Unlock()
			return ErrLost
		}
		return fmt.Errorf("write lease s3://%s/%s: %w", l.bucket, l.key, err)
	}
	l.mu.Lock()
	l.etag, l.record, l.observed = aws.ToString(out.ETag), rec, time.Now()
	l.mu.Unlock()
	return nil
}

// isNoSuchBucket reports an S3 answer that the bucket does not exist.
func isNoSuchBucket(err error) bool {
	var nsb *types.NoSuchBucket
	var ae smithy.APIError
	return errors.As(err, &nsb) || (errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket")
}

func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed":
			return http.StatusPreconditionFailed
		case "ConditionalRequestConflict":
			return http.StatusConflict
		case "NoSuchKey", "NotFound":
			return http.StatusNotFound
		}
	}
	return 0
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(mrand.Int64N(int64(d)/5+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
