package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/rules/lint"
)

// Disagreement is a delete some rule sends that can never reach an entity
// the config's mappings name: the rule names the deleted resource by one
// identifier (a function's name) and the config names its entities by
// another it cannot be led back to (a computed ARN). Every such deletion
// event is then a silent no-op, and the entity lingers until a full sync.
type Disagreement struct {
	Rule      string
	File      string
	Line      int
	Target    string
	EventName string
	Message   string
	Fix       string
}

// maxSamples bounds the events built from one rule's pattern: a pattern of
// many $or branches and event names must not make lint run for long.
const maxSamples = 256

// Disagreements lints the suite's rules against its config without an event:
// from each rule's EventPattern it builds one event per event name the
// pattern lists (the pattern's own matcher keeps only those it really
// matches), fills every InputPathsMap path the pattern leaves open, renders
// each target's message as EventBridge would, and checks each delete the
// exporter reads from it against the config's mappings, as rules test
// --config does for one event. Rules whose pattern names no literal event
// (prefix-only or numeric matchers) are checked through the samples that
// still match; a rule none of whose samples match is not checked.
func (s *Suite) Disagreements(ctx context.Context) ([]Disagreement, error) {
	if s.opts.Mapper == nil {
		return nil, nil
	}
	var out []Disagreement
	seen := map[string]bool{}
	for _, cr := range s.rules {
		var paths []string
		for _, t := range cr.rule.Targets {
			if t.InputTransformer != nil {
				for _, p := range t.InputTransformer.InputPathsMap {
					paths = append(paths, p)
				}
			}
		}
		sort.Strings(paths)
		samples, err := sampleEvents(cr.rule.EventPattern, paths)
		if err != nil {
			return nil, fmt.Errorf("%s: EventPattern: %w", ruleWhere(cr.rule), err)
		}
		for _, ev := range samples {
			matched, err := cr.pattern.MatchJSON(ev.event)
			if err != nil || !matched {
				continue
			}
			for i, t := range cr.rule.Targets {
				res := s.runTarget(ctx, cr, i, t, ev.event)
				if res.Decision == nil {
					continue
				}
				d := *res.Decision
				d.Identifier = "" // a sample's value, not the user's: the message says "by its identifier"
				_, problems := s.identifierProblems(d)
				for _, p := range problems {
					key := cr.rule.Label() + "\x00" + res.ID + "\x00" + p.Message
					if seen[key] {
						continue
					}
					seen[key] = true
					out = append(out, Disagreement{Rule: cr.rule.Label(), File: cr.rule.File, Line: cr.rule.Line,
						Target: res.ID, EventName: ev.eventName, Message: p.Message, Fix: p.Fix})
				}
			}
		}
	}
	return out, nil
}

type sampleEvent struct {
	eventName string
	event     []byte
}

// absent marks a field the pattern requires not to exist.
type absent struct{}

// sampleEvents builds events a pattern may match: one per alternative of its
// $or branches and per literal detail.eventName, with the envelope an
// EventBridge event of CloudTrail has, and every input path not set by the
// pattern filled with a string naming it.
func sampleEvents(raw json.RawMessage, inputPaths []string) ([]sampleEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	alts, err := lint.Alternatives(p)
	if err != nil {
		return nil, err
	}
	var out []sampleEvent
	for _, alt := range alts {
		names := eventNames(alt)
		if len(names) == 0 {
			names = []string{""}
		}
		for _, name := range names {
			if len(out) >= maxSamples {
				return out, nil
			}
			ev := map[string]any{
				"version": "0", "id": "00000000-0000-0000-0000-000000000000",
				"detail-type": "AWS API Call via CloudTrail", "source": "aws.sample",
				"account": "123456789012", "region": "us-east-1", "time": "2026-01-01T00:00:00Z", "resources": []any{},
				"detail": map[string]any{"awsRegion": "us-east-1", "eventTime": "2026-01-01T00:00:00Z"},
			}
			fill(ev, alt, name)
			for _, path := range inputPaths {
				setPath(ev, path)
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return nil, err
			}
			out = append(out, sampleEvent{eventName: name, event: b})
		}
	}
	return out, nil
}

// eventNames are values of detail.eventName, one per matcher of the
// pattern's list (a literal, or the prefix itself: DeleteFunction for
// {"prefix": "DeleteFunction"}).
func eventNames(p map[string]any) []string {
	detail, _ := p["detail"].(map[string]any)
	list, _ := detail["eventName"].([]any)
	var names []string
	for _, v := range list {
		if val, ok := satisfying([]any{v}); ok {
			if s, ok := val.(string); ok {
				names = append(names, s)
			}
		}
	}
	return names
}

// fill sets in ev one value satisfying each matcher list of the pattern, and
// detail.eventName to name when given.
func fill(ev, p map[string]any, name string) {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			sub, ok := ev[k].(map[string]any)
			if !ok {
				sub = map[string]any{}
				ev[k] = sub
			}
			fill(sub, v, "")
		case []any:
			if val, ok := satisfying(v); ok {
				if _, isAbsent := val.(absent); isAbsent {
					delete(ev, k)
				} else {
					ev[k] = val
				}
			}
		}
	}
	if name != "" {
		detail, ok := ev["detail"].(map[string]any)
		if !ok {
			detail = map[string]any{}
			ev["detail"] = detail
		}
		detail["eventName"] = name
	}
}

// satisfying picks a value one of the matchers accepts: a literal, or one
// built for a prefix, suffix, wildcard, exists or anything-but matcher.
// Numeric and CIDR matchers get none; the pattern's matcher then drops the
// sample.
func satisfying(matchers []any) (any, bool) {
	for _, m := range matchers {
		switch m := m.(type) {
		case string, json.Number, bool, nil:
			return m, true
		case map[string]any:
			for op, arg := range m {
				switch op {
				case "prefix":
					if s, ok := stringArg(arg); ok {
						return s, true // a string is its own prefix
					}
				case "suffix":
					if s, ok := stringArg(arg); ok {
						return s, true
					}
				case "equals-ignore-case":
					if s, ok := arg.(string); ok {
						return s, true
					}
				case "wildcard":
					if s, ok := arg.(string); ok {
						return strings.ReplaceAll(s, "*", "sample"), true
					}
				case "exists":
					if b, ok := arg.(bool); ok && !b {
						return absent{}, true
					}
					return "sample", true
				case "anything-but":
					return "sample-anything-else", true
				}
			}
		}
	}
	return nil, false
}

func stringArg(arg any) (string, bool) {
	switch a := arg.(type) {
	case string:
		return a, true
	case map[string]any: // {"prefix": {"equals-ignore-case": "x"}}
		s, ok := a["equals-ignore-case"].(string)
		return s, ok
	}
	return "", false
}

// setPath sets a plain JSONPath ($.a.b.c) the event does not hold to a
// string naming its last step, so the rendered message carries a value
// where CloudTrail would.
func setPath(ev map[string]any, path string) {
	if !strings.HasPrefix(path, "$.") {
		return
	}
	steps := strings.Split(path[2:], ".")
	cur := ev
	for i, step := range steps {
		if step == "" || strings.ContainsAny(step, "[]*'\"") {
			return
		}
		if i == len(steps)-1 {
			if _, ok := cur[step]; !ok {
				cur[step] = "sample-" + step
			}
			return
		}
		next, ok := cur[step].(map[string]any)
		if !ok {
			if _, exists := cur[step]; exists {
				return // a value the pattern set; leave it
			}
			next = map[string]any{}
			cur[step] = next
		}
		cur = next
	}
}
