// Package ruletest runs EventBridge rules offline against one event: which
// rules match, the exact message each target would receive, what the
// exporter makes of that message (the seed's contract, evaluated by
// internal/events) and, given a config.json, which config entries and
// blueprints it would touch. It is the engine of `port-aws-exporter rules test`.
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/events"
	"github.com/port-labs/port-aws-exporter/internal/mapping"
	"github.com/port-labs/port-aws-exporter/internal/rules/pattern"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
	"github.com/port-labs/port-aws-exporter/internal/rules/transform"
)

// Report is the outcome of testing one event against a set of rules.
type Report struct {
	Event      EventInfo `json:"event"`
	RulesRead  int       `json:"rulesRead"`
	Matches    []Match   `json:"matches"`
	NotMatched []string  `json:"notMatched"`
}

// EventInfo describes the event that was tested.
type EventInfo struct {
	// Wrapped is true when the input was a bare CloudTrail record.
	Wrapped    bool            `json:"wrapped"`
	Source     string          `json:"source,omitempty"`
	DetailType string          `json:"detailType,omitempty"`
	EventName  string          `json:"eventName,omitempty"`
	Region     string          `json:"region,omitempty"`
	Account    string          `json:"account,omitempty"`
	ErrorCode  string          `json:"errorCode,omitempty"`
	JSON       json.RawMessage `json:"json"`
}

// Match is one rule whose pattern matched the event.
type Match struct {
	Rule      string   `json:"rule"`
	LogicalID string   `json:"logicalId,omitempty"`
	Name      string   `json:"name,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Targets   []Target `json:"targets"`
}

// Target is what one target of a matching rule receives and what the
// exporter does with it.
type Target struct {
	ID  string `json:"id"`
	Arn string `json:"arn,omitempty"`
	// Message is exactly what the target receives.
	Message string `json:"message"`
	// Decision is the evaluated message (nil when it could not be evaluated).
	Decision *events.Decision `json:"decision,omitempty"`
	// Error says why the exporter would reject the message.
	Error string `json:"error,omitempty"`
	// Injection is set when the message's keys differ from the template's:
	// a value inserted unescaped inside quotes added or repeated fields.
	Injection *Injection `json:"injection,omitempty"`
	Notes     []string   `json:"notes,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
	// Exporter is the real plan of the exporter for the decision, when
	// found and when gone (with a config).
	Exporter []ExporterPlan `json:"exporter,omitempty"`
}

// Options configure a Suite.
type Options struct {
	// Mapper is the compiled config.json; nil skips what the exporter does.
	Mapper *mapping.Mapper
	// DefaultRegion is the exporter's region, used for config entries that
	// name no region (as the exporter does). Empty: such entries apply.
	DefaultRegion string
}

// Injection describes a message whose top-level keys differ from its
// template's.
type Injection struct {
	// Added are keys the template does not have; Duplicated keys the
	// message has more often than the template (a JSON reader keeps one of
	// them, usually the last); Missing keys of the template the message
	// lacks.
	Added      []string `json:"added,omitempty"`
	Duplicated []string `json:"duplicated,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	// Placeholders are the quoted placeholders whose values caused it, with
	// their InputPathsMap paths ("<name> ($.detail...)").
	Placeholders []string `json:"placeholders"`
}

// String is the report's sentence about the injection.
func (in *Injection) String() string {
	var parts []string
	if len(in.Added) > 0 {
		parts = append(parts, "added "+quoteAll(in.Added))
	}
	if len(in.Duplicated) > 0 {
		parts = append(parts, "repeated "+quoteAll(in.Duplicated))
	}
	if len(in.Missing) > 0 {
		parts = append(parts, "lost "+quoteAll(in.Missing))
	}
	msg := "INJECTION: the message's keys differ from the template's (" + strings.Join(parts, "; ") + ")"
	if len(in.Placeholders) > 0 {
		msg += ", caused by " + strings.Join(in.Placeholders, ", ") +
			", inserted unescaped inside quotes; put the placeholder outside quotes (\"key\": <name>, which EventBridge inserts as a JSON value) and exclude failed calls (\"errorCode\": [{\"exists\": false}])"
	}
	return msg
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

// Problems counts targets whose message the exporter would reject, or whose
// keys were injected.
func (r *Report) Problems() int {
	n := 0
	for _, m := range r.Matches {
		for _, t := range m.Targets {
			if t.Error != "" || t.Injection != nil {
				n++
			}
		}
	}
	return n
}

// Injections counts targets whose message's keys were injected.
func (r *Report) Injections() int {
	n := 0
	for _, m := range r.Matches {
		for _, t := range m.Targets {
			if t.Injection != nil {
				n++
			}
		}
	}
	return n
}

// Suite is a set of compiled rules, ready to test events.
type Suite struct {
	rules []compiledRule
	opts  Options
}

type compiledRule struct {
	rule         template.Rule
	pattern      *pattern.Pattern
	transformers []*transform.Transformer // per target; nil without InputTransformer
	inputPaths   []*transform.Transformer // per target; nil without InputPath
}

// Compile validates every rule's pattern and transformers. Errors name the
// rule, where it is defined and the place in it.
func Compile(rules []template.Rule, opts Options) (*Suite, error) {
	if len(rules) == 0 {
		return nil, errors.New("no AWS::Events::Rule found in the rules file")
	}
	s := &Suite{opts: opts}
	var errs []error
	for _, r := range rules {
		where := ruleWhere(r)
		cr := compiledRule{rule: r}
		p, err := pattern.Compile([]byte(r.EventPattern))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: EventPattern: %w", where, err))
		}
		cr.pattern = p
		for i, t := range r.Targets {
			if n := inputKinds(t); n > 1 {
				errs = append(errs, fmt.Errorf("%s: target %s: Input, InputPath and InputTransformer are mutually exclusive, %d are set", where, targetLabel(t, i), n))
			}
			var tr, ip *transform.Transformer
			if t.InputTransformer != nil {
				tr, err = transform.Compile(t.InputTransformer.InputPathsMap, t.InputTransformer.InputTemplate)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: target %s: InputTransformer: %w", where, targetLabel(t, i), err))
				}
			}
			if t.InputPath != "" {
				// InputPath sends the value at one path: a text template
				// holding a single unquoted placeholder renders exactly that.
				ip, err = transform.Compile(map[string]string{"value": t.InputPath}, "<value>")
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: target %s: InputPath: %w", where, targetLabel(t, i), err))
				}
			}
			cr.transformers = append(cr.transformers, tr)
			cr.inputPaths = append(cr.inputPaths, ip)
		}
		s.rules = append(s.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func inputKinds(t template.Target) int {
	n := 0
	for _, set := range []bool{t.Input != "", t.InputPath != "", t.InputTransformer != nil} {
		if set {
			n++
		}
	}
	return n
}

func ruleWhere(r template.Rule) string {
	where := "rule " + r.Label()
	switch {
	case r.File != "" && r.Line > 0:
		where += fmt.Sprintf(" (%s:%d)", r.File, r.Line)
	case r.File != "":
		where += " (" + r.File + ")"
	}
	return where
}

func targetLabel(t template.Target, i int) string {
	if t.ID != "" {
		return t.ID
	}
	return fmt.Sprintf("#%d", i)
}

// Run tests one event (EventBridge event or bare CloudTrail record).
func (s *Suite) Run(ctx context.Context, input []byte) (*Report, error) {
	event, wrapped, err := PrepareEvent(input)
	if err != nil {
		return nil, err
	}
	rep := &Report{RulesRead: len(s.rules), Matches: []Match{}, NotMatched: []string{}}
	rep.Event = describeEvent(event, wrapped)
	for _, cr := range s.rules {
		matched, err := cr.pattern.MatchJSON(event)
		if err != nil {
			return nil, fmt.Errorf("match %s: %w", ruleWhere(cr.rule), err)
		}
		if !matched {
			rep.NotMatched = append(rep.NotMatched, cr.rule.Label())
			continue
		}
		m := Match{Rule: cr.rule.Label(), LogicalID: cr.rule.LogicalID, Name: cr.rule.Name.String(), Targets: []Target{}}
		if rep.Event.ErrorCode != "" {
			m.Warnings = append(m.Warnings, fmt.Sprintf(
				"the event records a FAILED call (errorCode %s) and this rule does not exclude failed calls: "+
					"add \"errorCode\": [{\"exists\": false}] under detail in its EventPattern", rep.Event.ErrorCode))
		}
		if state := cr.rule.State.Literal; strings.EqualFold(state, "DISABLED") {
			m.Warnings = append(m.Warnings, "the rule is DISABLED: EventBridge would deliver nothing")
		}
		if bus := cr.rule.EventBusName.Literal; bus != "" && bus != "default" && strings.HasPrefix(rep.Event.Source, "aws.") {
			m.Warnings = append(m.Warnings, fmt.Sprintf("the rule is on event bus %q, but AWS services send their events (%s) to the default bus", bus, rep.Event.Source))
		}
		if len(cr.rule.Targets) == 0 {
			m.Warnings = append(m.Warnings, "the rule has no targets: nothing would be sent")
		}
		for i, t := range cr.rule.Targets {
			m.Targets = append(m.Targets, s.runTarget(ctx, cr, i, t, event))
		}
		rep.Matches = append(rep.Matches, m)
	}
	return rep, nil
}

func describeEvent(event []byte, wrapped bool) EventInfo {
	var e struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Region     string `json:"region"`
		Account    string `json:"account"`
		Detail     struct {
			EventName string `json:"eventName"`
			ErrorCode any    `json:"errorCode"`
		} `json:"detail"`
	}
	_ = json.Unmarshal(event, &e) // best effort: fields of other types stay empty
	info := EventInfo{Wrapped: wrapped, Source: e.Source, DetailType: e.DetailType, EventName: e.Detail.EventName,
		Region: e.Region, Account: e.Account, JSON: event}
	if e.Detail.ErrorCode != nil {
		info.ErrorCode = fmt.Sprint(e.Detail.ErrorCode)
	}
	return info
}

func (s *Suite) runTarget(ctx context.Context, cr compiledRule, i int, t template.Target, event []byte) Target {
	out := Target{ID: targetLabel(t, i), Arn: t.Arn.String()}
	meta := transform.Meta{RuleName: cr.rule.Name.Literal, RuleARN: ruleARN(cr.rule, event)}
	if meta.RuleName == "" {
		meta.RuleName = cr.rule.LogicalID
	}
	if at, err := eventTime(event); err == nil {
		// Ingestion time is close to the event time; using it keeps
		// output reproducible.
		meta.IngestionTime = at
	}
	var body []byte
	switch {
	case cr.transformers[i] != nil:
		r, err := cr.transformers[i].Render(event, meta)
		if err != nil {
			out.Error = err.Error()
			var oe *transform.OutputError
			if errors.As(err, &oe) {
				out.Message = string(oe.Output)
			}
			return out
		}
		body = r.Output
		for _, name := range r.Missing {
			out.Notes = append(out.Notes, fmt.Sprintf("<%s>: %s matched nothing (or null): rendered as \"\" inside quotes, null outside",
				name, t.InputTransformer.InputPathsMap[name]))
		}
		for _, name := range r.Unescaped {
			out.Warnings = append(out.Warnings, fmt.Sprintf("<%s>: its value holds '\"' or '\\' and EventBridge inserts it unescaped inside quotes: the message may not say what the event says", name))
		}
		out.Injection = checkKeys(cr.transformers[i], r, t.InputTransformer.InputPathsMap)
	case t.Input != "":
		body = []byte(t.Input)
	case cr.inputPaths[i] != nil:
		r, err := cr.inputPaths[i].Render(event, meta)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		body = r.Output
	default:
		// EventBridge sends the event itself, minified.
		var compact bytes.Buffer
		if err := json.Compact(&compact, event); err != nil {
			out.Error = "the event is not valid JSON: " + err.Error()
			return out
		}
		body = compact.Bytes()
	}
	out.Message = string(body)

	msg, err := events.ParseMessage(body)
	if err != nil {
		out.Error = "the exporter would reject this message: " + err.Error()
		return out
	}
	if msg.Shard != nil {
		out.Notes = append(out.Notes, "this is an exporter shard message, not an event about one resource")
		return out
	}
	d, err := events.Evaluate(ctx, msg)
	if err != nil {
		out.Error = "the exporter would reject this message: " + err.Error()
		return out
	}
	out.Decision = &d
	if s.opts.Mapper != nil {
		plans, warnings := s.exporterPlans(ctx, d, eventAccount(event))
		out.Exporter, out.Warnings = plans, append(out.Warnings, warnings...)
		notes, warnings := s.identifierAgreement(d)
		out.Notes, out.Warnings = append(out.Notes, notes...), append(out.Warnings, warnings...)
	}
	return out
}

// eventAccount is the account of the event's envelope.
func eventAccount(event []byte) string {
	var e struct {
		Account string `json:"account"`
	}
	_ = json.Unmarshal(event, &e)
	return e.Account
}

// ruleARN is the ARN EventBridge would give the rule in the event's account
// and region.
func ruleARN(r template.Rule, event []byte) string {
	var e struct {
		Region  string `json:"region"`
		Account string `json:"account"`
	}
	_ = json.Unmarshal(event, &e)
	name := r.Name.Literal
	if name == "" {
		name = r.LogicalID
	}
	if bus := r.EventBusName.Literal; bus != "" && bus != "default" {
		name = bus + "/" + name
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", e.Region, e.Account, name)
}

func eventTime(event []byte) (time.Time, error) {
	var e struct {
		Time string `json:"time"`
	}
	if err := json.Unmarshal(event, &e); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339, e.Time)
}

// checkKeys compares the rendered message's top-level keys with the
// template's, counting duplicates: a string inserted unescaped inside quotes
// can close its string and add fields, or repeat one (such as identifier or
// action) so that the reader takes the caller's value.
func checkKeys(tr *transform.Transformer, r transform.Rendered, paths map[string]string) *Injection {
	want := tr.TemplateKeys()
	if want == nil {
		return nil // not a JSON object template
	}
	got, err := transform.ObjectKeys(r.Output)
	if err != nil {
		got = nil // e.g. an array: every template key is lost
	}
	count := func(keys []string) map[string]int {
		m := map[string]int{}
		for _, k := range keys {
			m[k]++
		}
		return m
	}
	wantN, gotN := count(want), count(got)
	in := &Injection{Placeholders: []string{}}
	for _, k := range got {
		switch {
		case wantN[k] == 0:
			if !slices.Contains(in.Added, k) {
				in.Added = append(in.Added, k)
			}
		case gotN[k] > wantN[k]:
			if !slices.Contains(in.Duplicated, k) {
				in.Duplicated = append(in.Duplicated, k)
			}
		}
	}
	for _, k := range want {
		if gotN[k] == 0 && !slices.Contains(in.Missing, k) {
			in.Missing = append(in.Missing, k)
		}
	}
	if len(in.Added)+len(in.Duplicated)+len(in.Missing) == 0 {
		return nil
	}
	// The cause: quoted placeholders inserted unescaped whose value holds an
	// offending key as a JSON string; failing that, every one inserted
	// unescaped (only they can change the structure).
	offending := append(append([]string{}, in.Added...), in.Duplicated...)
	var causes []string
	for _, name := range r.Unescaped {
		var s string
		if json.Unmarshal(r.Values[name], &s) != nil {
			s = string(r.Values[name])
		}
		for _, k := range offending {
			if strings.Contains(s, `"`+k+`"`) {
				causes = append(causes, name)
				break
			}
		}
	}
	if len(causes) == 0 {
		causes = r.Unescaped
	}
	for _, name := range causes {
		label := "<" + name + ">"
		if p := paths[name]; p != "" {
			label += " (" + p + ")"
		}
		in.Placeholders = append(in.Placeholders, label)
	}
	return in
}
