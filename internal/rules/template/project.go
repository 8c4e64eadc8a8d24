package template

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ProjectRule is one rule in the project's JSON rules file, a JSON array of
// these. Field names follow EventBridge's API in lower camel case.
type ProjectRule struct {
	Name         string          `json:"name"`
	EventBusName string          `json:"eventBusName,omitempty"`
	State        string          `json:"state,omitempty"`
	EventPattern json.RawMessage `json:"eventPattern"` // an object, or a JSON string holding one
	Targets      []ProjectTarget `json:"targets,omitempty"`
}

// ProjectTarget is one target of a ProjectRule.
type ProjectTarget struct {
	ID               string                   `json:"id"`
	Arn              json.RawMessage          `json:"arn,omitempty"` // a string, or an unresolved intrinsic object
	InputTransformer *ProjectInputTransformer `json:"inputTransformer,omitempty"`
	Input            string                   `json:"input,omitempty"`
	InputPath        string                   `json:"inputPath,omitempty"`
}

// ProjectInputTransformer is a target's InputTransformer.
type ProjectInputTransformer struct {
	InputPathsMap map[string]string `json:"inputPathsMap,omitempty"`
	InputTemplate string            `json:"inputTemplate"`
}

func parseProject(data []byte, file string) ([]Rule, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{File: file, Msg: "not a JSON array of rules: " + err.Error()}
	}
	rules := make([]Rule, 0, len(raw))
	for i, item := range raw {
		where := fmt.Sprintf("[%d]", i)
		var pr ProjectRule
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pr); err != nil {
			return nil, &Error{File: file, Path: where, Msg: err.Error()}
		}
		label := pr.Name
		if label == "" {
			return nil, &Error{File: file, Path: where + ".name", Msg: "missing"}
		}
		r := Rule{Name: Value{Literal: pr.Name}, EventBusName: Value{Literal: pr.EventBusName}, State: Value{Literal: pr.State}, File: file}
		pat, err := projectPattern(pr.EventPattern)
		if err != nil {
			return nil, &Error{File: file, Rule: label, Path: "eventPattern", Msg: err.Error()}
		}
		r.EventPattern = pat
		for j, pt := range pr.Targets {
			t := Target{ID: pt.ID, Input: pt.Input, InputPath: pt.InputPath}
			if len(pt.Arn) > 0 {
				var s string
				if json.Unmarshal(pt.Arn, &s) == nil {
					t.Arn = Value{Literal: s}
				} else {
					var obj map[string]any
					if json.Unmarshal(pt.Arn, &obj) != nil || len(obj) != 1 {
						return nil, &Error{File: file, Rule: label, Path: fmt.Sprintf("targets[%d].arn", j), Msg: "must be a string or an intrinsic function object"}
					}
					var buf bytes.Buffer
					_ = json.Compact(&buf, pt.Arn)
					t.Arn = Value{Intrinsic: buf.Bytes()}
				}
			}
			if pt.InputTransformer != nil {
				if pt.InputTransformer.InputTemplate == "" {
					return nil, &Error{File: file, Rule: label, Path: fmt.Sprintf("targets[%d].inputTransformer.inputTemplate", j), Msg: "missing"}
				}
				t.InputTransformer = &InputTransformer{InputPathsMap: pt.InputTransformer.InputPathsMap, InputTemplate: pt.InputTransformer.InputTemplate}
				if t.InputTransformer.InputPathsMap == nil {
					t.InputTransformer.InputPathsMap = map[string]string{}
				}
			}
			r.Targets = append(r.Targets, t)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func projectPattern(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("missing")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, fmt.Errorf("must be a JSON object or a string holding one")
	}
	return raw, nil
}
