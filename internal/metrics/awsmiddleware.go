package metrics

import (
	"context"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// AWSClientOption returns an option for any AWS SDK v2 client's APIOptions
// that records every call (all retries included) with ObserveAWS, as
// "<Service>.<Operation>" (e.g. SQS.ReceiveMessage). Use it for clients
// that have no Observe hook of their own, such as SQS in the service.
func (m *Metrics) AWSClientOption() func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("PortAWSExporterMetrics",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				m.ObserveAWS(op, awsmiddleware.GetRegion(ctx), err, time.Since(start))
				return out, md, err
			}), middleware.After)
	}
}
