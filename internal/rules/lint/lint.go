// Package lint checks EventBridge rules for the two weaknesses that let a
// caller whose every call is denied write into the exporter's messages:
//
//   - a placeholder inside quotes ("key": "<name>") fed from a field the caller
//     controls: EventBridge inserts a string value there unescaped, so a value
//     holding '"' can close the string and add or repeat message fields;
//   - a rule matching CloudTrail records that does not exclude failed calls
//     ("errorCode": [{"exists": false}] under detail): CloudTrail records a
//     denied call with the caller's own request parameters, and EventBridge
//     delivers it like any other.
//
// Each finding says what to change. It is the engine of `rules lint`.
package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/rules/template"
	"github.com/port-labs/port-aws-exporter/internal/rules/transform"
)

// Finding kinds.
const (
	// QuotedPlaceholder is a caller-controlled value inserted inside quotes.
	QuotedPlaceholder = "quoted-placeholder"
	// FailedCalls is a CloudTrail rule that does not exclude failed calls.
	FailedCalls = "failed-calls"
	// IdentifierMismatch is a delete whose identifier can reach no entity of
	// the config (found with rules lint --config; see ruletest.Disagreements).
	IdentifierMismatch = "identifier-mismatch"
)

// CloudTrailDetailType is the detail-type of CloudTrail records on EventBridge.
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// ErrorCodeExclusion is the pattern, under detail, that excludes failed calls.
const ErrorCodeExclusion = `"errorCode": [{"exists": false}]`

// Finding is one weakness of one rule.
type Finding struct {
	Rule string `json:"rule"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Kind string `json:"kind"`
	// Target, Placeholder, Path and Where locate a quoted placeholder.
	Target      string `json:"target,omitempty"`
	Placeholder string `json:"placeholder,omitempty"`
	Path        string `json:"path,omitempty"`
	Where       string `json:"where,omitempty"`
	Message     string `json:"message"`
	Fix         string `json:"fix"`
}

// Report is the outcome of linting one rules file.
type Report struct {
	File      string    `json:"file,omitempty"`
	RulesRead int       `json:"rulesRead"`
	Findings  []Finding `json:"findings"`
}

// Rules lints every rule. An error is a rule whose pattern is not JSON or
// whose InputTransformer EventBridge would refuse (rules test says more).
func Rules(rules []template.Rule) (*Report, error) {
	rep := &Report{RulesRead: len(rules), Findings: []Finding{}}
	for _, r := range rules {
		if f, err := failedCalls(r); err != nil {
			return nil, err
		} else if f != nil {
			rep.Findings = append(rep.Findings, *f)
		}
		for i, t := range r.Targets {
			if t.InputTransformer == nil {
				continue
			}
			id := t.ID
			if id == "" {
				id = fmt.Sprintf("#%d", i)
			}
			tr, err := transform.Compile(t.InputTransformer.InputPathsMap, t.InputTransformer.InputTemplate)
			if err != nil {
				return nil, fmt.Errorf("%s: target %s: InputTransformer: %w", where(r), id, err)
			}
			for _, u := range tr.Uses() {
				if !u.Quoted || u.Path == "" {
					continue // unquoted values are JSON-encoded; predefined ones are AWS's
				}
				why, controlled := CallerControlled(u.Path)
				if !controlled {
					continue
				}
				rep.Findings = append(rep.Findings, Finding{
					Rule: r.Label(), File: r.File, Line: r.Line, Kind: QuotedPlaceholder,
					Target: id, Placeholder: "<" + u.Name + ">", Path: u.Path,
					Where: fmt.Sprintf("InputTemplate line %d, column %d", u.Line, u.Column),
					Message: fmt.Sprintf("<%s> (%s) is inside quotes, where EventBridge inserts a string unescaped, and %s: "+
						"a value holding '\"' can add or repeat fields of the message", u.Name, u.Path, why),
					Fix: quotedFix(u),
				})
			}
		}
	}
	return rep, nil
}

func quotedFix(u transform.Use) string {
	if u.WholeString {
		return fmt.Sprintf("write the placeholder outside quotes, <%s> instead of \"<%s>\" (EventBridge then inserts the value as JSON: "+
			"a string quoted and escaped, and null where the event has no such path, so compare with null as well as \"\" in jq)", u.Name, u.Name)
	}
	return fmt.Sprintf("give the value a field of its own, \"%s\": <%s> (outside quotes: EventBridge inserts it as JSON, null where the "+
		"event has no such path), and build the string in the jq expression from .%s", u.Name, u.Name, u.Name)
}

func where(r template.Rule) string {
	w := "rule " + r.Label()
	switch {
	case r.File != "" && r.Line > 0:
		w += fmt.Sprintf(" (%s:%d)", r.File, r.Line)
	case r.File != "":
		w += " (" + r.File + ")"
	}
	return w
}

// safeEnvelope are the fields of an EventBridge event that EventBridge sets.
var safeEnvelope = map[string]bool{"version": true, "id": true, "detail-type": true, "source": true,
	"account": true, "time": true, "region": true, "resources": true}

// safeDetail are the fields of a CloudTrail record that AWS sets whatever the
// caller sends (identifiers, times, the API called, the account, the region
// of the endpoint called, AWS's own error code).
var safeDetail = map[string]bool{"eventVersion": true, "eventTime": true, "eventSource": true, "eventName": true,
	"awsRegion": true, "requestID": true, "eventID": true, "readOnly": true, "eventType": true,
	"managementEvent": true, "recipientAccountId": true, "eventCategory": true, "errorCode": true, "sharedEventID": true}

// CallerControlled reports whether the caller of an API call can choose the
// value at path (an InputPathsMap path), and why. Only the fields listed in
// safeEnvelope and safeDetail are trusted: everything else under detail is
// taken as the caller's, including userIdentity (session names are chosen by
// whoever assumes a role), userAgent, sourceIPAddress, errorMessage (which
// repeats names from the request) and any field of a non-CloudTrail event
// (the linter cannot tell which service wrote it).
func CallerControlled(path string) (string, bool) {
	segs := segments(path)
	switch {
	case len(segs) == 0:
		return "it is the whole event, which holds the caller's request parameters", true
	case segs[0] != "detail":
		if safeEnvelope[segs[0]] {
			return "", false
		}
		return "it is not a field EventBridge sets", true
	case len(segs) == 1:
		return "it is the whole record, which holds the caller's request parameters", true
	case safeDetail[segs[1]] && len(segs) == 2:
		return "", false
	}
	switch segs[1] {
	case "requestParameters":
		return "it is a request parameter, chosen by the caller and recorded even when the call is denied", true
	case "responseElements":
		return "it is a response element, which echoes what the caller sent", true
	case "userIdentity":
		return "it describes the caller, whose session names and ARNs the caller chooses", true
	case "userAgent":
		return "the caller sets the user agent", true
	case "errorMessage":
		return "error messages repeat names from the caller's request", true
	}
	return "it is not a field AWS alone sets", true
}

// segments splits "$.detail.requestParameters.items[0].id" into its field
// names, dropping indices.
func segments(path string) []string {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if p == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(p, ".") {
		if i := strings.IndexByte(s, '['); i >= 0 {
			s = s[:i]
		}
		out = append(out, s)
	}
	return out
}

// maxAlternatives bounds the expansion of $or: far more than EventBridge's
// own pattern limits allow.
const maxAlternatives = 4096

// failedCalls finds a pattern alternative that can match a CloudTrail record
// and does not exclude failed calls.
func failedCalls(r template.Rule) (*Finding, error) {
	if len(bytes.TrimSpace(r.EventPattern)) == 0 {
		return nil, nil // no pattern: a scheduled rule
	}
	var p map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.EventPattern))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: EventPattern: %w", where(r), err)
	}
	alts, err := Alternatives(p)
	if err != nil {
		return nil, fmt.Errorf("%s: EventPattern: %w", where(r), err)
	}
	var open []int
	for i, a := range alts {
		if mayMatchCloudTrail(a) && !excludesErrors(a) {
			open = append(open, i+1)
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	msg := "the pattern matches CloudTrail records of FAILED calls too (it does not require errorCode to be absent): " +
		"a denied caller's request parameters reach the queue"
	if len(alts) > 1 {
		msg += fmt.Sprintf(" (%d of its %d $or alternatives)", len(open), len(alts))
	}
	return &Finding{Rule: r.Label(), File: r.File, Line: r.Line, Kind: FailedCalls, Message: msg,
		Fix: "add " + ErrorCodeExclusion + " under detail in the EventPattern (in every $or alternative under detail)"}, nil
}

// Alternatives turns a pattern with $or at any level into its alternatives
// without $or (at most maxAlternatives).
func Alternatives(m map[string]any) ([]map[string]any, error) {
	out := []map[string]any{{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var opts []map[string]any
		switch v := m[k].(type) {
		case map[string]any:
			subs, err := Alternatives(v)
			if err != nil {
				return nil, err
			}
			for _, s := range subs {
				opts = append(opts, map[string]any{k: s})
			}
		case []any:
			if k != "$or" {
				opts = []map[string]any{{k: v}}
				break
			}
			for _, alt := range v {
				am, ok := alt.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("$or alternative is %T, want an object", alt)
				}
				subs, err := Alternatives(am)
				if err != nil {
					return nil, err
				}
				opts = append(opts, subs...)
			}
		default:
			opts = []map[string]any{{k: v}}
		}
		var next []map[string]any
		for _, base := range out {
			for _, o := range opts {
				next = append(next, merge(base, o))
			}
		}
		if len(next) > maxAlternatives {
			return nil, fmt.Errorf("more than %d alternatives", maxAlternatives)
		}
		out = next
	}
	return out, nil
}

func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if am, ok := out[k].(map[string]any); ok {
			if bm, ok := v.(map[string]any); ok {
				out[k] = merge(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// mayMatchCloudTrail is false only when the alternative names detail-types
// or sources that CloudTrail records never have.
func mayMatchCloudTrail(alt map[string]any) bool {
	onlyOthers := func(field string, isCloudTrail func(string) bool) bool {
		vals, ok := alt[field].([]any)
		if !ok || len(vals) == 0 {
			return false
		}
		for _, v := range vals {
			s, ok := v.(string)
			if !ok || isCloudTrail(s) {
				return false // an operator, or the CloudTrail value
			}
		}
		return true
	}
	if onlyOthers("detail-type", func(s string) bool { return s == CloudTrailDetailType }) {
		return false
	}
	if onlyOthers("source", func(s string) bool { return strings.HasPrefix(s, "aws.") }) {
		return false
	}
	return true
}

// excludesErrors: detail.errorCode's only alternative is {"exists": false}.
func excludesErrors(alt map[string]any) bool {
	detail, ok := alt["detail"].(map[string]any)
	if !ok {
		return false
	}
	vals, ok := detail["errorCode"].([]any)
	if !ok || len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 || m["exists"] != false {
			return false
		}
	}
	return true
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	name := r.File
	if name == "" {
		name = "rules"
	}
	rules := map[string]bool{}
	for _, f := range r.Findings {
		rules[f.Rule] = true
	}
	fmt.Fprintf(&b, "%s: %d rule(s) read, %d finding(s) in %d rule(s)\n", name, r.RulesRead, len(r.Findings), len(rules))
	last := ""
	for _, f := range r.Findings {
		if f.Rule != last {
			last = f.Rule
			loc := ""
			if f.File != "" && f.Line > 0 {
				loc = fmt.Sprintf(" (%s:%d)", f.File, f.Line)
			}
			fmt.Fprintf(&b, "\nRULE  %s%s\n", f.Rule, loc)
		}
		switch f.Kind {
		case QuotedPlaceholder, IdentifierMismatch:
			fmt.Fprintf(&b, "  %s: target %s, %s: %s\n", f.Kind, f.Target, f.Where, f.Message)
		default:
			fmt.Fprintf(&b, "  %s: %s\n", f.Kind, f.Message)
		}
		fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
