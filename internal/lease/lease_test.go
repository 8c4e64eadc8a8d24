package lease_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/port-labs/port-aws-exporter/internal/lease"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// s3Endpoint starts moto's S3 behind a proxy that serializes conditional
// PutObjects. moto checks If-Match / If-None-Match and then writes, on
// werkzeug threads, without a lock; S3 makes the check and the write one
// atomic step (that is the primitive the lease relies on), so the proxy
// gives moto S3's atomicity. Everything else (wire protocol, ETags, 412s)
// is moto's own.
func s3Endpoint(t *testing.T, bucket string) (*s3.Client, func() *s3.Client) {
	t.Helper()
	m := moto.Start(t)
	target, _ := url.Parse(m.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") {
			mu.Lock()
			defer mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	newClient := func() *s3.Client {
		cfg := m.AWSConfig(context.Background(), "eu-west-1")
		cfg.BaseEndpoint = aws.String(srv.URL)
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}
	c := newClient()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	return c, newClient
}

// testDuration is the lease duration of the tests: short, so that takeovers
// happen within a test, and long enough that a loaded CI machine's slow moto
// answers (a renewal has RenewDeadline, 2 s) do not make a holder drop out.
const testDuration = 3 * time.Second

func fast(identity string) lease.Options {
	return lease.Options{Identity: identity, Duration: testDuration, RenewDeadline: 2 * time.Second,
		RenewInterval: 250 * time.Millisecond, RetryInterval: 150 * time.Millisecond}
}

// partitionable is an S3 client whose calls fail while cut is set: a replica
// that lost its network, or froze.
type partitionable struct {
	*s3.Client
	cut atomic.Bool
}

var errCut = errors.New("network partition (test)")

func (p *partitionable) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if p.cut.Load() {
		return nil, errCut
	}
	return p.Client.GetObject(ctx, in, o...)
}

func (p *partitionable) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if p.cut.Load() {
		return nil, errCut
	}
	return p.Client.PutObject(ctx, in, o...)
}

// leaders tracks who leads when, and fails on any overlap.
type leaders struct {
	mu      sync.Mutex
	active  map[string]bool
	max     int
	terms   []string
	started map[string]time.Time
	ended   map[string]time.Time
}

func newLeaders() *leaders {
	return &leaders{active: map[string]bool{}, started: map[string]time.Time{}, ended: map[string]time.Time{}}
}

func (l *leaders) lead(name string) func(ctx context.Context, term *lease.Term) {
	return func(ctx context.Context, term *lease.Term) {
		l.mu.Lock()
		l.active[name] = true
		l.max = max(l.max, len(l.active))
		l.terms = append(l.terms, name)
		l.started[name] = time.Now()
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		delete(l.active, name)
		l.ended[name] = time.Now()
		l.mu.Unlock()
	}
}

func (l *leaders) current() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.active {
		out = append(out, n)
	}
	return out
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// Three replicas contend; exactly one leads at any time; a graceful stop
// releases the lease and another replica takes over well within Duration;
// a partitioned holder stops leading before anyone else starts.
func TestOneLeaderAmongThreeReplicas(t *testing.T) {
	_, newClient := s3Endpoint(t, "lease-three")
	const url = "s3://lease-three/port-aws-exporter/sync-lease.json"
	track := newLeaders()
	clients := map[string]*partitionable{}
	cancels := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		clients[name] = &partitionable{Client: newClient()}
		l, err := lease.New(clients[name], url, fast(name))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancels[name] = cancel
		wg.Go(func() { l.Run(ctx, track.lead(name)) })
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}()

	waitFor(t, "a first leader", 5*time.Second, func() bool { return len(track.current()) == 1 })
	time.Sleep(testDuration + 500*time.Millisecond) // longer than Duration: renewals must keep the same leader
	cur := track.current()
	if len(cur) != 1 || len(track.terms) != 1 {
		t.Fatalf("after 3.5 s of renewals: leaders now %v, terms %v; want one leader throughout", cur, track.terms)
	}
	first := cur[0]

	// Graceful stop: the lease is released, another takes over fast.
	cancels[first]()
	took := waitFor(t, "a takeover after release", 2*testDuration, func() bool {
		c := track.current()
		return len(c) == 1 && c[0] != first
	})
	if took >= testDuration {
		t.Errorf("takeover after a release took %v, want less than the lease duration (the release must be written)", took)
	}
	second := track.current()[0]

	// Partition: the holder can neither renew nor release. It must stop
	// leading (RenewDeadline) before the third replica starts (Duration
	// after it last saw a change).
	clients[second].cut.Store(true)
	waitFor(t, "a takeover after a partition", 3*testDuration, func() bool {
		c := track.current()
		return len(c) == 1 && c[0] != second && c[0] != first
	})
	track.mu.Lock()
	third := track.terms[len(track.terms)-1]
	ended, started := track.ended[second], track.started[third]
	overlap := track.max
	track.mu.Unlock()
	if !ended.Before(started) {
		t.Errorf("partitioned holder %s stopped leading at %v, after %s started at %v", second, ended, third, started)
	}
	if overlap != 1 {
		t.Errorf("at one moment %d replicas led, want at most 1", overlap)
	}
	if len(track.terms) != 3 {
		t.Errorf("terms %v, want exactly 3 (one per holder)", track.terms)
	}
}

// A holder whose object was overwritten (another writer won) learns it at
// its next renewal; the last sync time survives a change of holder; the
// record is JSON naming the holder.
func TestRenewAfterOverwriteIsLostAndLastSyncCarriesOver(t *testing.T) {
	c, _ := s3Endpoint(t, "lease-overwrite")
	const url = "s3://lease-overwrite/lease.json"
	ctx := context.Background()
	a, err := lease.New(c, url, fast("a"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("first TryAcquire on an absent object: %v %v", ok, err)
	}
	b, _ := lease.New(c, url, fast("b"))
	if ok, err := b.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire of a fresh lease held by a: %v %v, want false", ok, err)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	// A Term records the last sync; Renew writes it.
	synced := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(runCtx, func(ctx context.Context, tm *lease.Term) { tm.Synced(synced); <-ctx.Done() })
	}()
	waitFor(t, "a holds", 2*testDuration, a.Held)
	time.Sleep(300 * time.Millisecond)
	stop()
	<-done
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lease-overwrite"), Key: aws.String("lease.json")})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(obj.Body)
	var rec lease.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	if rec.Holder != "a" || !rec.Released || !rec.LastSync.Equal(synced) {
		t.Fatalf("record after a's graceful stop: %s; want holder a, released, last_sync %s", raw, synced.Format(time.RFC3339))
	}

	// b takes the released lease at once and sees the last sync.
	var sawLastSync time.Time
	bctx, bstop := context.WithCancel(ctx)
	bdone := make(chan struct{})
	go func() {
		defer close(bdone)
		b.Run(bctx, func(ctx context.Context, tm *lease.Term) { sawLastSync = tm.LastSync; <-ctx.Done() })
	}()
	waitFor(t, "b takes the released lease", testDuration, b.Held)
	// Someone else overwrites the object: b's next renewal is refused.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lease-overwrite"), Key: aws.String("lease.json"),
		Body: strings.NewReader(`{"holder":"intruder"}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b notices it lost the lease", testDuration, func() bool { return !b.Held() })
	bstop()
	<-bdone
	if !sawLastSync.Equal(synced) {
		t.Errorf("b's term saw last sync %v, want %v", sawLastSync, synced)
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in, bucket, key string
		ok              bool
	}{
		{"s3://b/k", "b", "k", true},
		{"s3://my-bucket/port/sync-lease.json", "my-bucket", "port/sync-lease.json", true},
		{"s3://b/", "", "", false},
		{"s3://b", "", "", false},
		{"https://b/k", "", "", false},
		{"s3:///k", "", "", false},
		{"s3://b/k?versionId=1", "", "", false},
	}
	if len(cases) < 7 {
		t.Fatal("table shrank")
	}
	for _, c := range cases {
		b, k, err := lease.ParseURL(c.in)
		if (err == nil) != c.ok || b != c.bucket || k != c.key {
			t.Errorf("ParseURL(%q) = %q %q %v", c.in, b, k, err)
		}
	}
	if _, err := lease.New(nil, "s3://b/k", lease.Options{Duration: time.Second, RenewDeadline: 2 * time.Second}); err == nil {
		t.Error("a renew deadline past the duration was accepted")
	}
}

// TestMissingBucketIsAnError: a SYNC_LEASE naming a bucket that does not
// exist must say so, not look like a lease held by someone else, which would
// leave every replica waiting, silently, for a sync that never runs.
func TestMissingBucketIsAnError(t *testing.T) {
	c, _ := s3Endpoint(t, "lease-exists")
	l, err := lease.New(c, "s3://no-such-bucket-here/lease.json", fast("a"))
	if err != nil {
		t.Fatal(err)
	}
	ok, err := l.TryAcquire(context.Background())
	if ok || err == nil || !strings.Contains(err.Error(), "no-such-bucket-here") {
		t.Fatalf("TryAcquire in a missing bucket: %v, %v; want an error naming the bucket", ok, err)
	}
}

// TestANewTermForgetsTheOldTermsSync: a replica leading again must not write
// the last sync of its earlier term over the newer one of the holder between.
func TestANewTermForgetsTheOldTermsSync(t *testing.T) {
	c, _ := s3Endpoint(t, "lease-terms")
	const url = "s3://lease-terms/lease.json"
	ctx := context.Background()
	read := func() lease.Record {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lease-terms"), Key: aws.String("lease.json")})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(obj.Body)
		var rec lease.Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	runTerm := func(l *lease.Lease, synced time.Time) {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.Run(runCtx, func(ctx context.Context, tm *lease.Term) {
				if !synced.IsZero() {
					tm.Synced(synced)
				}
				<-ctx.Done()
			})
		}()
		waitFor(t, "the replica holds", 2*testDuration, l.Held)
		time.Sleep(300 * time.Millisecond)
		stop()
		<-done
	}
	a, _ := lease.New(c, url, fast("a"))
	b, _ := lease.New(c, url, fast("b"))
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	runTerm(a, t1)
	runTerm(b, t2)
	// a leads again without syncing: its renewals must keep b's t2.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(runCtx, func(ctx context.Context, _ *lease.Term) { <-ctx.Done() }) }()
	waitFor(t, "a holds again", 2*testDuration, a.Held)
	time.Sleep(3 * fast("a").RenewInterval) // renewals of the new term
	if got := read().LastSync; !got.Equal(t2) {
		t.Errorf("after a's renewal in its second term the last sync is %v, want b's %v", got, t2)
	}
	stop()
	<-done
}
