package service

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/lease"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// blockingSync is a full sync that runs until its context ends (a long
// sync), recording when it started and why it stopped.
type blockingSync struct {
	mu       sync.Mutex
	started  int
	running  bool
	canceled int
}

func (s *blockingSync) Run(ctx context.Context) (controller.Report, error) {
	s.mu.Lock()
	s.started++
	s.running = true
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.running = false
	s.canceled++
	s.mu.Unlock()
	return controller.Report{}, ctx.Err()
}

func (s *blockingSync) state() (started int, running bool, canceled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, s.running, s.canceled
}

// consumingConsumer counts that it ran: every replica consumes events.
type consumingConsumer struct {
	fakeConsumer
	running chan struct{}
}

func (c *consumingConsumer) Run(ctx context.Context) error {
	close(c.running)
	return c.fakeConsumer.Run(ctx)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas share an S3 lease on moto: both consume events, only the
// holder syncs; when the holder stops, its sync is canceled and the other
// replica's sync starts.
func TestOnlyTheLeaseHolderSyncs(t *testing.T) {
	m := moto.Start(t)
	client := s3.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("service-lease"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	type replica struct {
		sync     *blockingSync
		consumer *consumingConsumer
		cancel   context.CancelFunc
		done     chan error
	}
	start := func(name string) *replica {
		l, err := lease.New(client, "s3://service-lease/sync-lease.json", lease.Options{Identity: name,
			Duration: 3 * time.Second, RenewDeadline: 2 * time.Second, RenewInterval: 250 * time.Millisecond, RetryInterval: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		r := &replica{sync: &blockingSync{}, consumer: &consumingConsumer{fakeConsumer: fakeConsumer{stopped: make(chan struct{})}, running: make(chan struct{})}, done: make(chan error, 1)}
		svc := &Service{Consumer: r.consumer, Sync: r.sync, SyncInterval: time.Hour, Listen: "127.0.0.1:0",
			Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Lease: l}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() { r.done <- svc.Run(ctx) }()
		return r
	}
	a := start("a")
	eventually(t, "a syncs", func() bool { _, running, _ := a.sync.state(); return running })
	b := start("b")
	defer func() { b.cancel(); <-b.done }()
	<-b.consumer.running
	time.Sleep(3500 * time.Millisecond) // past the lease duration: a keeps it by renewing
	if started, _, _ := b.sync.state(); started != 0 {
		t.Fatalf("b synced %d times while a held the lease", started)
	}
	if started, running, _ := a.sync.state(); started != 1 || !running {
		t.Fatalf("a: %d syncs started, running %v; want its one sync still running", started, running)
	}

	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatalf("a's Run: %v", err)
	}
	if _, running, canceled := a.sync.state(); running || canceled != 1 {
		t.Errorf("a's sync after a stopped: running %v, canceled %d", running, canceled)
	}
	eventually(t, "b takes over the sync", func() bool { _, running, _ := b.sync.state(); return running })
}

// A new holder continues the schedule of the last one: the record says the
// last sync finished just now, so the first sync waits for the interval.
func TestNewHolderContinuesTheSchedule(t *testing.T) {
	m := moto.Start(t)
	client := s3.NewFromConfig(m.AWSConfig(context.Background(), "eu-west-1"), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("service-schedule"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	record := fmt.Sprintf(`{"holder":"old-pod","released":true,"last_sync":%q}`, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("service-schedule"), Key: aws.String("lease.json"), Body: strings.NewReader(record)}); err != nil {
		t.Fatal(err)
	}
	l, err := lease.New(client, "s3://service-schedule/lease.json", lease.Options{Identity: "new-pod",
		Duration: 3 * time.Second, RenewDeadline: 2 * time.Second, RenewInterval: 250 * time.Millisecond, RetryInterval: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	syncer := &countingSync{}
	svc := &Service{Consumer: &fakeConsumer{stopped: make(chan struct{})}, Sync: syncer, SyncInterval: 3 * time.Second, Listen: "127.0.0.1:0",
		Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Lease: l}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "new-pod takes the released lease", l.Held)
	time.Sleep(time.Second)
	if n := syncer.runs.Load(); n != 0 {
		t.Fatalf("the new holder synced %d times within 1 s of a sync that just finished (interval 3 s)", n)
	}
	eventually(t, "the first sync, one interval after the last", func() bool { return syncer.runs.Load() == 1 })
}
