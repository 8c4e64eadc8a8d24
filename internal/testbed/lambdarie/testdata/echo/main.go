// Command echo is a minimal Lambda function for the harness's own test: it
// answers what the runtime API gave it, so the test can check that payload,
// deadline, request id and environment reach the function.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type answer struct {
	Payload     json.RawMessage `json:"payload"`
	RemainingMS int64           `json:"remaining_ms"`
	RequestID   string          `json:"request_id"`
	Env         string          `json:"env"`
}

func handle(ctx context.Context, payload json.RawMessage) (answer, error) {
	if string(payload) == `"fail"` {
		return answer{}, errors.New("asked to fail")
	}
	a := answer{Payload: payload, Env: os.Getenv("ECHO_VALUE")}
	if d, ok := ctx.Deadline(); ok {
		a.RemainingMS = time.Until(d).Milliseconds()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		a.RequestID = lc.AwsRequestID
	}
	return a, nil
}

func main() { lambda.Start(handle) }
