// Package template reads EventBridge rules from a CloudFormation template
// (YAML or JSON) or from the project's own JSON rules file.
//
// CloudFormation: every resource of Type AWS::Events::Rule is read, in
// document order. Short-form intrinsic tags (!Ref, !Sub, !GetAtt,
// !ImportValue, ...) are read as their long form ({"Ref": ...},
// {"Fn::Sub": ...}, {"Fn::GetAtt": [resource, attribute]}) and left
// unresolved: rule testing only needs the pattern and the transformers.
// EventPattern may be an object or a JSON string. Numbers keep their text,
// so a pattern's 300.0 stays 300.0.
//
// The project's rules file is a JSON array (see ProjectRule):
//
//	[{"name": "lambda-trails", "eventPattern": {...}, "state": "ENABLED",
//	  "targets": [{"id": "q", "arn": "arn:aws:sqs:...",
//	               "inputTransformer": {"inputPathsMap": {...}, "inputTemplate": "..."}}]}]
//
// Errors name the file, the line (where known), the rule and the place in
// it, for example
// `rules.yaml:31: rule EventRule0: Properties.Targets[0].InputTransformer.InputPathsMap.awsRegion: must be a string`.
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RuleType is the CloudFormation type of an EventBridge rule.
const RuleType = "AWS::Events::Rule"

// Value is a template value that is either a literal string or an
// unresolved intrinsic function, kept as JSON ({"Fn::ImportValue": ...}).
type Value struct {
	Literal   string
	Intrinsic json.RawMessage
}

// String is the literal, or the intrinsic's JSON.
func (v Value) String() string {
	if v.Intrinsic != nil {
		return string(v.Intrinsic)
	}
	return v.Literal
}

// IsZero reports an absent value.
func (v Value) IsZero() bool { return v.Literal == "" && v.Intrinsic == nil }

// MarshalJSON writes the literal as a JSON string, or the intrinsic as is.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.Intrinsic != nil {
		return v.Intrinsic, nil
	}
	return json.Marshal(v.Literal)
}

// Rule is one EventBridge rule.
type Rule struct {
	// LogicalID is the CloudFormation logical id; empty for project rules.
	LogicalID    string
	Name         Value
	EventBusName Value
	State        Value
	// EventPattern is the pattern's JSON text, numbers as written.
	EventPattern json.RawMessage
	Targets      []Target
	// File and Line say where the rule is defined, for messages.
	File string
	Line int
}

// Label names the rule for people: the logical id and the literal name
// when both exist ("EventRule0 (port-aws-exporter-sync-lambda-trails)").
func (r Rule) Label() string {
	switch {
	case r.LogicalID != "" && r.Name.Literal != "":
		return r.LogicalID + " (" + r.Name.Literal + ")"
	case r.LogicalID != "":
		return r.LogicalID
	case r.Name.Literal != "":
		return r.Name.Literal
	}
	return r.Name.String()
}

// Target is one target of a rule.
type Target struct {
	ID string
	// Arn is unresolved: a literal ARN or an intrinsic.
	Arn              Value
	InputTransformer *InputTransformer
	// Input is constant JSON text sent instead of the event.
	Input string
	// InputPath selects part of the event to send.
	InputPath string
	Line      int
}

// InputTransformer is a target's InputTransformer, as written.
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// Error is a rules file that cannot be read; it names the place.
type Error struct {
	File string
	Line int    // 0 when unknown
	Rule string // logical id or name; empty when not inside a rule
	Path string // place inside the rule (or the document)
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Rule != "" {
		b.WriteString("rule " + e.Rule + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParseFile reads the rules in a CloudFormation template or project rules file.
func ParseFile(path string) ([]Rule, error) {
	// Terraform rules (rules generate --format terraform, init --format
	// terraform) are HCL; the YAML parser would only report a confusing
	// syntax error somewhere in them.
	if strings.HasSuffix(path, ".tf") || strings.HasSuffix(path, ".tf.json") {
		return nil, fmt.Errorf("%s: Terraform rules cannot be tested; test the CloudFormation form of the same rules "+
			"(port-aws-exporter rules generate --kinds ... --out-file rules.yaml), which matches and transforms events identically", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return Parse(data, path)
}

// Parse reads rules from data; file names the source in errors. A JSON
// array is the project format; anything else is a CloudFormation template.
func Parse(data []byte, file string) ([]Rule, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		return parseProject(data, file)
	}
	return parseCloudFormation(data, file)
}
