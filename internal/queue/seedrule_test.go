package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch/dispatchtest"
	"github.com/port-labs/port-aws-exporter/internal/queue"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// TestSeedRuleEndToEnd sends a CloudTrail CreateFunction event to moto's
// EventBridge, whose rule (the seed template's pattern and InputTransformer)
// delivers the message to the events queue; the consumer then upserts the
// function from Cloud Control into Port.
func TestSeedRuleEndToEnd(t *testing.T) {
	srv := moto.Start(t)
	client := sqsOnMoto(t)
	ctx := context.Background()
	queueURL, queueARN := createQueue(t, client, "seed-rule-events", nil)
	eb := eventbridge.NewFromConfig(srv.AWSConfig(ctx, "eu-west-1"))

	pattern := `{"source": ["aws.lambda"], "detail-type": ["AWS API Call via CloudTrail"],
	  "detail": {"eventSource": ["lambda.amazonaws.com"],
	    "eventName": [{"prefix": "UpdateFunctionConfiguration"}, {"prefix": "CreateFunction"}, {"prefix": "DeleteFunction"}]}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("port-aws-exporter-sync-lambda-trails"),
		EventBusName: aws.String("default"), EventPattern: aws.String(pattern), State: ebtypes.RuleStateEnabled}); err != nil {
		t.Fatal(err)
	}
	template := `{
"resource_type": "AWS::Lambda::Function",
"requestFunctionName": "<requestFunctionName>",
"responseFunctionName": "<responseFunctionName>",
"eventName": "<eventName>",
"region": "\"<awsRegion>\"",
"identifier": "if .responseFunctionName != \"\" then .responseFunctionName else .requestFunctionName end",
"action": "if .eventName | startswith(\"Delete\") then \"delete\" else \"upsert\" end"
}`
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("port-aws-exporter-sync-lambda-trails"), EventBusName: aws.String("default"),
		Targets: []ebtypes.Target{{Id: aws.String("PortAWSExporterEventsQueue"), Arn: aws.String(queueARN),
			InputTransformer: &ebtypes.InputTransformer{
				InputPathsMap: map[string]string{
					"awsRegion": "$.detail.awsRegion", "eventName": "$.detail.eventName",
					"requestFunctionName":  "$.detail.requestParameters.functionName",
					"responseFunctionName": "$.detail.responseElements.functionName",
				},
				InputTemplate: aws.String(template),
			}}}}); err != nil {
		t.Fatal(err)
	}

	s := dispatchtest.New(t, dispatchtest.Options{})
	s.PutFunction(t, "eu-west-1", "test-function", 256)
	detail, _ := json.Marshal(map[string]any{
		"eventVersion": "1.08", "eventSource": "lambda.amazonaws.com", "eventName": "CreateFunction20150331",
		"awsRegion": "eu-west-1", "requestParameters": map[string]any{"functionName": "test-function"},
		"responseElements": map[string]any{"functionName": "test-function"},
	})
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("aws.lambda"), DetailType: aws.String("AWS API Call via CloudTrail"), Detail: aws.String(string(detail)),
		EventBusName: aws.String("default"),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put event: %v (%d failed)", err, out.FailedEntryCount)
	}

	c := &queue.Consumer{Client: client, QueueURL: queueURL, Handler: s.Handler, WaitTime: time.Second,
		DeadLetter: &queue.DeadLetterQueue{Client: client, URL: queueURL + "-unused"}}
	stop := runConsumer(t, c)
	defer stop()
	waitFor(t, "the rule's message to upsert test-function", 15*time.Second, func() bool {
		_, ok := s.Port.Entity("lambda", "test-function")
		return ok
	})
	e, _ := s.Port.Entity("lambda", "test-function")
	if fmt.Sprint(e.Properties["memorySize"]) != "256" {
		t.Errorf("test-function memorySize %v, want 256 from GetResource", e.Properties["memorySize"])
	}
}
