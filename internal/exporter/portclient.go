package exporter

import (
	"context"
	"fmt"
	"log/slog"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/port-labs/port-aws-exporter/internal/port"
)

// PortClient builds only the Port client, with the credentials and URL
// Build would use (opts.Port, else PORT_CLIENT_ID and PORT_CLIENT_SECRET or
// PORT_CREDS_SECRET_ARN, and PORT_API_URL), for commands that talk to Port
// alone (blueprints apply). The AWS configuration is loaded only to read a
// Secrets Manager secret; nothing else is called in AWS.
func PortClient(ctx context.Context, opts Options) (*port.Client, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts.AWSOptions...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	opts.OneShot = true
	client, _, err := newPortClient(ctx, awsCfg, opts, log, &upsertLatency{})
	return client, err
}
