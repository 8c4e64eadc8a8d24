package lint

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

func lintFile(t *testing.T, name string) *Report {
	t.Helper()
	rules, err := template.ParseFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Rules(rules)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// summary is kind and placeholder of each finding, in order.
func summary(rep *Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, strings.TrimSpace(f.Kind+" "+f.Placeholder))
	}
	return out
}

// The seed's template has both weaknesses: failed calls are not excluded,
// and the two function names sit inside quotes. eventName and awsRegion are
// set by AWS, so their quoted placeholders are not findings.
func TestSeedTemplate(t *testing.T) {
	rep := lintFile(t, "seed-event-rule-template.yaml")
	want := []string{FailedCalls, QuotedPlaceholder + " <requestFunctionName>", QuotedPlaceholder + " <responseFunctionName>"}
	if got := summary(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
	f := rep.Findings[1]
	if f.Path != "$.detail.requestParameters.functionName" || f.Where != "InputTemplate line 3, column 25" || f.Line != 14 {
		t.Errorf("finding %+v does not locate the placeholder", f)
	}
	if !strings.Contains(f.Fix, "<requestFunctionName> instead of \"<requestFunctionName>\"") {
		t.Errorf("fix %q does not show the unquoted form", f.Fix)
	}
	if !strings.Contains(rep.Findings[0].Fix, `"errorCode": [{"exists": false}]`) {
		t.Errorf("fix %q does not give the pattern to add", rep.Findings[0].Fix)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1 rule(s) read, 3 finding(s) in 1 rule(s)", "RULE  EventRule0 (port-aws-exporter-sync-lambda-trails)",
		"failed-calls: ", "quoted-placeholder: target PortAWSExporterEventsQueue, InputTemplate line 4, column 26: <responseFunctionName>"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !reflect.DeepEqual(&back, rep) {
		t.Errorf("JSON report does not read back (%v):\n%s", err, js.String())
	}
}

// The library's rule before its placeholders were unquoted: failed calls
// were excluded, but four caller-controlled values sat inside quotes.
func TestQuotedLibraryRule(t *testing.T) {
	rep := lintFile(t, "library-lambda-function-quoted.yaml")
	want := []string{QuotedPlaceholder + " <requestFunctionName>", QuotedPlaceholder + " <requestQualifier>",
		QuotedPlaceholder + " <requestResource>", QuotedPlaceholder + " <responseFunctionName>"}
	if got := summary(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
}

func TestCallerControlled(t *testing.T) {
	cases := []struct {
		path       string
		controlled bool
	}{
		{"$.region", false},
		{"$.account", false},
		{"$.detail-type", false},
		{"$.resources[0]", false},
		{"$.detail.eventName", false},
		{"$.detail.awsRegion", false},
		{"$.detail.recipientAccountId", false},
		{"$.detail.eventSource", false},
		{"$.detail.errorCode", false},
		{"$.detail.eventID", false},
		{"$.detail.requestParameters.functionName", true},
		{"$.detail.requestParameters.instancesSet.items[0].instanceId", true},
		{"$.detail.responseElements.functionName", true},
		{"$.detail.userIdentity.arn", true},
		{"$.detail.userIdentity.sessionContext.sessionIssuer.userName", true},
		{"$.detail.userAgent", true},
		{"$.detail.errorMessage", true},
		{"$.detail.sourceIPAddress", true},
		{"$.detail.tlsDetails.clientProvidedHostHeader", true},
		{"$.detail.eventName.x", true}, // not the field AWS sets
		{"$.detail.instance-id", true}, // a state event's field: the linter cannot tell who wrote it
		{"$.detail", true},
		{"$", true},
		{"$.custom", true},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		why, got := CallerControlled(c.path)
		if got != c.controlled {
			t.Errorf("CallerControlled(%s) = %v, want %v", c.path, got, c.controlled)
		}
		if got && why == "" {
			t.Errorf("CallerControlled(%s): no reason", c.path)
		}
	}
}

func rule(pattern, tmpl string, paths map[string]string) template.Rule {
	r := template.Rule{LogicalID: "R", EventPattern: json.RawMessage(pattern)}
	if tmpl != "" {
		r.Targets = []template.Target{{ID: "q", InputTransformer: &template.InputTransformer{InputPathsMap: paths, InputTemplate: tmpl}}}
	}
	return r
}

func TestFailedCallPatterns(t *testing.T) {
	const ct = `"source": ["aws.lambda"], "detail-type": ["AWS API Call via CloudTrail"]`
	cases := []struct {
		name    string
		pattern string
		finding bool
	}{
		{"excluded", `{` + ct + `, "detail": {"errorCode": [{"exists": false}]}}`, false},
		{"not excluded", `{` + ct + `, "detail": {"eventName": ["DeleteFunction"]}}`, true},
		{"no detail", `{` + ct + `}`, true},
		{"no detail-type: CloudTrail records match", `{"source": ["aws.lambda"]}`, true},
		{"errorCode exists true", `{` + ct + `, "detail": {"errorCode": [{"exists": true}]}}`, true},
		{"errorCode exclusion or a code", `{` + ct + `, "detail": {"errorCode": [{"exists": false}, "AccessDenied"]}}`, true},
		{"anything-but does not exclude (never matches a missing field)", `{` + ct + `, "detail": {"errorCode": [{"anything-but": "x"}]}}`, true},
		{"every $or alternative excluded", `{` + ct + `, "detail": {"$or": [{"eventName": ["A"], "errorCode": [{"exists": false}]}, {"eventName": ["B"], "errorCode": [{"exists": false}]}]}}`, false},
		{"one $or alternative open", `{` + ct + `, "detail": {"$or": [{"eventName": ["A"], "errorCode": [{"exists": false}]}, {"eventName": ["B"]}]}}`, true},
		{"exclusion beside $or covers every alternative", `{` + ct + `, "detail": {"errorCode": [{"exists": false}], "$or": [{"eventName": ["A"]}, {"eventName": ["B"]}]}}`, false},
		{"top-level $or with an open CloudTrail branch", `{"source": ["aws.ec2"], "$or": [{"detail-type": ["EC2 Instance State-change Notification"]}, {"detail-type": ["AWS API Call via CloudTrail"]}]}`, true},
		{"only a state event", `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}`, false},
		{"custom source", `{"source": ["my.app"]}`, false},
		{"detail-type prefix may be CloudTrail", `{"source": ["aws.s3"], "detail-type": [{"prefix": "AWS API"}]}`, true},
	}
	if len(cases) < 12 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Rules([]template.Rule{rule(c.pattern, "", nil)})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rep.Findings) == 1 && rep.Findings[0].Kind == FailedCalls; got != c.finding || len(rep.Findings) > 1 {
				t.Errorf("findings %q, want failed-calls: %v", summary(rep), c.finding)
			}
		})
	}
}

func TestQuotedPlaceholders(t *testing.T) {
	const pattern = `{"source": ["aws.lambda"], "detail": {"errorCode": [{"exists": false}]}}`
	paths := map[string]string{"name": "$.detail.requestParameters.functionName", "region": "$.region", "event": "$.detail.eventName"}
	cases := []struct {
		name     string
		template string
		want     []string
		fix      string
	}{
		{"unquoted", `{"n": <name>, "r": <region>}`, nil, ""},
		{"quoted request parameter", `{"n": "<name>"}`, []string{QuotedPlaceholder + " <name>"}, `<name> instead of "<name>"`},
		{"inside a jq string", `{"identifier": "\"<name>\""}`, []string{QuotedPlaceholder + " <name>"}, `"name": <name>`},
		{"embedded in text", `{"identifier": "fn-<name>"}`, []string{QuotedPlaceholder + " <name>"}, `build the string in the jq expression from .name`},
		{"quoted, but set by AWS", `{"r": "\"<region>\"", "e": "<event>"}`, nil, ""},
		{"predefined placeholder", `{"rule": "<aws.events.rule-name>"}`, nil, ""},
		{"text template: no JSON string to escape from", `name is <name>`, nil, ""},
		{"twice", `{"a": "<name>", "b": "<name>"}`, []string{QuotedPlaceholder + " <name>", QuotedPlaceholder + " <name>"}, ""},
	}
	if len(cases) < 8 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Rules([]template.Rule{rule(pattern, c.template, paths)})
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rep); len(got)+len(c.want) > 0 && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("findings %q, want %q", got, c.want)
			}
			if c.fix != "" && !strings.Contains(rep.Findings[0].Fix, c.fix) {
				t.Errorf("fix %q lacks %q", rep.Findings[0].Fix, c.fix)
			}
		})
	}
}

func TestBrokenRulesAreErrors(t *testing.T) {
	for _, r := range []template.Rule{
		rule(`{"source": `, "", nil),
		rule(`{"source": ["aws.s3"], "detail": {"errorCode": [{"exists": false}]}}`, `{"a": <undefined>}`, map[string]string{}),
		rule(`{"$or": ["x", "y"]}`, "", nil),
	} {
		if _, err := Rules([]template.Rule{r}); err == nil || !strings.Contains(err.Error(), "rule R") {
			t.Errorf("pattern %s, template %v: error %v, want one naming rule R", r.EventPattern, r.Targets, err)
		}
	}
}
