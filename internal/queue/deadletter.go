package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message attributes set on every message moved to the dead-letter queue, so
// that an operator can see why without searching logs, and redrive it after a fix.
const (
	AttrReason            = "reason"
	AttrError             = "error"
	AttrOriginalMessageID = "original-message-id"
	AttrSourceQueue       = "source-queue"
	AttrFirstSeen         = "first-seen"
	AttrReceiveCount      = "receive-count"
)

// maxErrorAttribute keeps the error text well inside SQS's 256 KiB message
// limit (body and attributes together) whatever the error says.
const maxErrorAttribute = 1024

// DeadLetter is a message that cannot be handled, on its way to the dead-letter queue.
type DeadLetter struct {
	MessageID    string
	Body         string
	Reason       string
	Err          error
	FirstSeen    time.Time // zero when unknown
	ReceiveCount int       // zero when unknown
}

// DeadLetterQueue sends messages that failed permanently to a dead-letter queue.
type DeadLetterQueue struct {
	Client *sqs.Client
	// URL is the dead-letter queue.
	URL string
	// SourceQueueURL is recorded on each message (attribute source-queue).
	SourceQueueURL string
}

// Send sends one message with its reason. The caller deletes the original from
// the source queue only when Send succeeded, so no message is ever lost.
func (d *DeadLetterQueue) Send(ctx context.Context, dl DeadLetter) error {
	if d == nil || d.URL == "" {
		return errors.New("no dead-letter queue configured (set one, or give the source queue a RedrivePolicy)")
	}
	errText := ""
	if dl.Err != nil {
		errText = truncate(dl.Err.Error(), maxErrorAttribute)
	}
	attrs := map[string]types.MessageAttributeValue{}
	put := func(name, value string) {
		if value != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	put(AttrReason, dl.Reason)
	put(AttrError, errText)
	put(AttrOriginalMessageID, dl.MessageID)
	put(AttrSourceQueue, d.SourceQueueURL)
	if !dl.FirstSeen.IsZero() {
		put(AttrFirstSeen, dl.FirstSeen.UTC().Format(time.RFC3339Nano))
	}
	if dl.ReceiveCount > 0 {
		attrs[AttrReceiveCount] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(dl.ReceiveCount))}
	}
	body := dl.Body
	if body == "" {
		// SQS refuses empty bodies; an empty message is still worth keeping with its reason.
		body = "(empty message body)"
	}
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(d.URL),
		MessageBody:       aws.String(body),
		MessageAttributes: attrs,
	}
	if strings.HasSuffix(d.URL, ".fifo") {
		// A FIFO queue requires a group; the original id makes a resend after a
		// crash between send and delete a duplicate that SQS drops.
		in.MessageGroupId = aws.String("dead-letters")
		in.MessageDeduplicationId = aws.String(dedupID(dl.MessageID, body))
	}
	_, err := d.Client.SendMessage(ctx, in)
	if err != nil {
		return fmt.Errorf("send message %s to dead-letter queue %s: %w", dl.MessageID, d.URL, err)
	}
	return nil
}

// dedupID is at most 128 characters, as SQS requires.
func dedupID(messageID, body string) string {
	if messageID != "" && len(messageID) <= 128 {
		return messageID
	}
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// DiscoverDeadLetterQueue returns the URL of the dead-letter queue named by the
// source queue's RedrivePolicy, or "" when the queue has none.
func DiscoverDeadLetterQueue(ctx context.Context, client *sqs.Client, queueURL string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return "", fmt.Errorf("read RedrivePolicy of %s: %w", queueURL, err)
	}
	raw := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if raw == "" {
		return "", nil
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(raw), &policy); err != nil {
		return "", fmt.Errorf("RedrivePolicy of %s is not JSON: %w", queueURL, err)
	}
	if policy.DeadLetterTargetArn == "" {
		return "", nil
	}
	return QueueURLFromARN(ctx, client, policy.DeadLetterTargetArn)
}

// QueueURLFromARN resolves an SQS queue ARN (arn:aws:sqs:region:account:name)
// to its URL with GetQueueUrl, so that endpoint overrides (AWS_ENDPOINT_URL_SQS)
// are honoured rather than guessing the URL format.
func QueueURLFromARN(ctx context.Context, client *sqs.Client, queueARN string) (string, error) {
	a, err := arn.Parse(queueARN)
	if err != nil {
		return "", fmt.Errorf("queue ARN %q: %w", queueARN, err)
	}
	if a.Service != "sqs" || a.Resource == "" || strings.Contains(a.Resource, "/") {
		return "", fmt.Errorf("%q is not an SQS queue ARN", queueARN)
	}
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{
		QueueName:              aws.String(a.Resource),
		QueueOwnerAWSAccountId: aws.String(a.AccountID),
	}, func(o *sqs.Options) { o.Region = a.Region })
	if err != nil {
		return "", fmt.Errorf("look up URL of queue %s: %w", queueARN, err)
	}
	return aws.ToString(out.QueueUrl), nil
}
