package ruletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CloudTrailDetailType is the detail-type EventBridge gives CloudTrail records.
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// envelope is an EventBridge event in the order EventBridge writes its
// fields; Detail keeps the record's own text.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// PrepareEvent returns the event to test: an EventBridge event as is, or a
// bare CloudTrail record (it has eventSource or eventName and no
// detail-type) wrapped the way EventBridge delivers it from the default bus.
// wrapped reports the second case.
func PrepareEvent(data []byte) (event []byte, wrapped bool, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, false, describeEventError(data, err)
	}
	if fields == nil {
		return nil, false, errors.New("event is null, want a JSON object")
	}
	// A file downloaded from a CloudTrail bucket holds many records under
	// "Records"; tested as an event it would match nothing, and "no rule
	// matched" would be a wrong answer.
	if records, ok := fields["Records"]; ok && len(fields) == 1 {
		var list []json.RawMessage
		if json.Unmarshal(records, &list) == nil {
			return nil, false, fmt.Errorf("this is a CloudTrail log file (%d records under \"Records\"), not one event: test one record, e.g. jq '.Records[0]'", len(list))
		}
	}
	_, hasDetailType := fields["detail-type"]
	_, hasSource := fields["eventSource"]
	_, hasName := fields["eventName"]
	if hasDetailType || (!hasSource && !hasName) {
		return bytes.TrimSpace(data), false, nil
	}
	wrappedEvent, err := WrapCloudTrail(data)
	if err != nil {
		return nil, false, err
	}
	return wrappedEvent, true, nil
}

// WrapCloudTrail wraps a CloudTrail record as EventBridge does: version "0",
// id (the record's eventID, so that output is reproducible), detail-type
// "AWS API Call via CloudTrail", source "aws." plus the service part of
// eventSource (lambda.amazonaws.com → aws.lambda), account =
// recipientAccountId, time = eventTime, region = awsRegion, no resources,
// and the record as detail.
func WrapCloudTrail(record []byte) ([]byte, error) {
	var r struct {
		EventSource        string `json:"eventSource"`
		EventID            string `json:"eventID"`
		EventTime          string `json:"eventTime"`
		AWSRegion          string `json:"awsRegion"`
		RecipientAccountID string `json:"recipientAccountId"`
	}
	if err := json.Unmarshal(record, &r); err != nil {
		return nil, fmt.Errorf("CloudTrail record: %w", err)
	}
	if r.EventSource == "" {
		return nil, errors.New("CloudTrail record has no eventSource, so its EventBridge source is unknown")
	}
	service, _, _ := strings.Cut(r.EventSource, ".")
	var detail bytes.Buffer
	if err := json.Compact(&detail, record); err != nil {
		return nil, fmt.Errorf("CloudTrail record: %w", err)
	}
	env := envelope{
		Version: "0", ID: r.EventID, DetailType: CloudTrailDetailType, Source: "aws." + service,
		Account: r.RecipientAccountID, Time: r.EventTime, Region: r.AWSRegion,
		Resources: []string{}, Detail: detail.Bytes(),
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("wrap CloudTrail record: %w", err)
	}
	return bytes.TrimSpace(out.Bytes()), nil
}

// describeEventError says where an event file stops being a JSON object, by
// line and column, the way an editor shows the file.
func describeEventError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the offending byte; the position is that byte's.
		before := data[:min(max(int(syntax.Offset)-1, 0), len(data))]
		line := bytes.Count(before, []byte("\n")) + 1
		col := len(before) - bytes.LastIndexByte(before, '\n')
		return fmt.Errorf("event is not JSON: line %d, column %d: %w", line, col, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("event is a JSON %s, want an object", typ.Value)
	}
	return fmt.Errorf("event is not a JSON object: %w", err)
}
