package queue

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/dispatch"
	"github.com/port-labs/port-aws-exporter/internal/events"
)

// sendAttempts bounds how often entries that SQS failed on its side are resent.
const sendAttempts = 3

// SendShardMessages puts one shard message per request on the queue, in
// batches of 10, each signed with key (its signature as a message
// attribute). It resends entries SQS failed on its side, and returns an
// error naming the shards that could not be sent.
func SendShardMessages(ctx context.Context, client *sqs.Client, queueURL string, key *events.ShardKey, reqs []events.ShardRequest) error {
	var unsent []string
	for chunk := range slices.Chunk(reqs, 10) {
		pending := map[string]events.ShardRequest{}
		for i, r := range chunk {
			pending[strconv.Itoa(i)] = r
		}
		var lastErr error
		for attempt := 0; attempt < sendAttempts && len(pending) > 0; attempt++ {
			entries := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
			for id, r := range pending {
				body, attrs, err := key.ShardMessage(r)
				if err != nil {
					return err
				}
				entry := types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(body)),
					MessageAttributes: map[string]types.MessageAttributeValue{}}
				for k, v := range attrs {
					entry.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
				}
				entries = append(entries, entry)
			}
			out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
			if err != nil {
				lastErr = err
				if ctx.Err() != nil {
					break
				}
				continue
			}
			for _, ok := range out.Successful {
				delete(pending, aws.ToString(ok.Id))
			}
			for _, f := range out.Failed {
				lastErr = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
				if f.SenderFault {
					// Resending the same entry cannot succeed.
					r := pending[aws.ToString(f.Id)]
					delete(pending, aws.ToString(f.Id))
					unsent = append(unsent, fmt.Sprintf("%s (%v)", r, lastErr))
				}
			}
		}
		for _, r := range pending {
			unsent = append(unsent, fmt.Sprintf("%s (%v)", r, lastErr))
		}
	}
	if len(unsent) > 0 {
		slices.Sort(unsent)
		return fmt.Errorf("send shard messages to %s: %d of %d not sent: %v", queueURL, len(unsent), len(reqs), unsent)
	}
	return nil
}

// Verifier sends verification messages (dispatch.Verifier) to the events
// queue: the message's body again, delayed, with the verification attribute.
type Verifier struct {
	Client   *sqs.Client
	QueueURL string
}

// Verify sends body back to the queue, visible after delay (SQS allows at
// most 15 minutes).
func (v Verifier) Verify(ctx context.Context, body []byte, delay time.Duration) error {
	_, err := v.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(v.QueueURL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: int32(min(max(delay, time.Second), 15*time.Minute) / time.Second),
		MessageAttributes: map[string]types.MessageAttributeValue{
			dispatch.VerificationAttribute: {DataType: aws.String("String"), StringValue: aws.String("1")},
		},
	})
	if err != nil {
		return fmt.Errorf("send a verification to %s: %w", v.QueueURL, err)
	}
	return nil
}
