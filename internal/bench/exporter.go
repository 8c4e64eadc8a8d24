package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/port"
)

// Build wires the exporter against the testbed at ep through the product's
// wiring (exporter.Build), the way a user points it elsewhere: the config
// from a file, the AWS endpoint and dummy credentials as SDK options, the
// Port double's URL and credentials. Only the testbed's endpoints and
// credentials differ from the sync command. The returned cleanup removes
// the config file.
func Build(ctx context.Context, ep Endpoints, sync exporter.SyncSettings, events *exporter.EventSettings, log *slog.Logger) (*exporter.Built, func(), error) {
	dir, err := os.MkdirTemp("", "port-aws-exporter-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("create a directory for the bench config: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	configPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(configPath, ep.Config, 0o600); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("write the bench config: %w", err)
	}
	b, err := exporter.Build(ctx, exporter.Options{
		ConfigLocation: configPath,
		NeedPort:       true,
		OneShot:        true,
		AccountID:      ep.AccountID,
		Sync:           sync,
		Events:         events,
		Logger:         log,
		Port:           port.Config{BaseURL: ep.PortURL, ClientID: ep.ClientID, ClientSecret: ep.ClientSecret},
		AWSOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion(ep.Region),
			awsconfig.WithBaseEndpoint(ep.AWSURL),
			// Static dummy credentials: the environment's real ones are never used.
			awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", ""))),
		},
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return b, cleanup, nil
}
