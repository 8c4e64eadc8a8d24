package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/events"
)

// Item is one queue message handed to a batch handler.
type Item struct {
	// ID is the SQS message id: logs and batchItemFailures name messages by it.
	ID   string
	Body []byte
	// Attributes are the message's SQS message attributes (string values):
	// shard messages carry their signature there.
	Attributes map[string]string
	// ReceivedAt is when the queue handed the message over; a listing that
	// proves a deletion must have started after it. Zero: when the batch starts.
	ReceivedAt time.Time
}

// Status is what the queue should do with a message after handling.
type Status int

const (
	// StatusOK: handled; delete the message.
	StatusOK Status = iota
	// StatusRetry: a transient failure; leave the message for SQS to redeliver.
	StatusRetry
	// StatusDeadLetter: a permanent failure; move the message to the dead-letter queue.
	StatusDeadLetter
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusRetry:
		return "transient"
	case StatusDeadLetter:
		return "permanent"
	}
	return "unknown"
}

// Outcome is the result of handling one message.
type Outcome struct {
	ID     string
	Status Status
	// Reason is set for StatusDeadLetter: a Reason constant.
	Reason string
	// Err is the failure, for StatusRetry and StatusDeadLetter.
	Err error
	// Report is what was decided and done (nil for messages that did not parse).
	Report *Report
	// DuplicateOf is the id of the message in the same batch that was handled
	// in this one's place ("" when this message was handled itself).
	DuplicateOf string
}

// outcomeOf classifies err: nil → ok, permanent → dead-letter, anything else
// (a transient failure, or the batch's context ending) → retry.
func outcomeOf(id string, err error) Outcome {
	switch {
	case err == nil:
		return Outcome{ID: id, Status: StatusOK}
	case errors.Is(err, events.ErrPermanent) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return Outcome{ID: id, Status: StatusDeadLetter, Reason: events.ReasonOf(err), Err: err}
	default:
		return Outcome{ID: id, Status: StatusRetry, Err: err}
	}
}
