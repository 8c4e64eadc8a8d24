package service

import (
	"context"
	"log/slog"
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
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
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
			Duration: 1200 * time.Millisecond, RenewDeadline: 800 * time.Millisecond, RenewInterval: 200 * time.Millisecond, RetryInterval: 100 * time.Millisecond})
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
	time.Sleep(1500 * time.Millisecond) // past the lease duration: a keeps it by renewing
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
