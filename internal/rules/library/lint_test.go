package library

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/port-labs/port-aws-exporter/internal/rules/lint"
	"github.com/port-labs/port-aws-exporter/internal/rules/ruletest"
	"github.com/port-labs/port-aws-exporter/internal/rules/template"
)

// Every generated rule, read back from the CloudFormation the generator
// writes, lints clean: no caller-controlled value inside quotes, failed calls
// excluded in every alternative.
func TestGeneratedCloudFormationLintsClean(t *testing.T) {
	kinds := allKinds(t)
	out, err := CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := template.Parse(out, "port-aws-exporter-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != len(kinds) || len(rules) < 25 {
		t.Fatalf("read %d rules of %d kinds", len(rules), len(kinds))
	}
	checkLintClean(t, rules)
}

// The same for the Terraform the generator writes, read from its HCL.
func TestGeneratedTerraformLintsClean(t *testing.T) {
	kinds := allKinds(t)
	out, err := Terraform(kinds)
	if err != nil {
		t.Fatal(err)
	}
	rules := terraformRules(t, out)
	if len(rules) != len(kinds) || len(rules) < 25 {
		t.Fatalf("read %d rules of %d kinds", len(rules), len(kinds))
	}
	checkLintClean(t, rules)

	// The forwarding modules of the global kinds too.
	modules, err := TerraformForwarding(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if len(modules) != 1 {
		t.Fatalf("%d forwarding modules, want 1 (us-east-1)", len(modules))
	}
	fwd := terraformRules(t, modules[0].Data)
	if len(fwd) != len(modules[0].Kinds) || len(fwd) < 2 {
		t.Fatalf("read %d forwarding rules of %d kinds", len(fwd), len(modules[0].Kinds))
	}
	checkLintClean(t, fwd)
}

// The forwarding templates' rules lint clean too.
func TestForwardingTemplatesLintClean(t *testing.T) {
	files, err := ForwardingTemplates(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 1 {
		t.Fatal("no forwarding template for the library's global kinds (IAM, CloudFront)")
	}
	for _, f := range files {
		rules, err := template.Parse(f.Data, "forwarding-"+f.Region+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != len(f.Kinds) {
			t.Fatalf("%s: read %d rules of %d kinds", f.Region, len(rules), len(f.Kinds))
		}
		checkLintClean(t, rules)
	}
}

func checkLintClean(t *testing.T, rules []template.Rule) {
	t.Helper()
	rep, err := lint.Rules(rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("%s: %s %s: %s", f.Rule, f.Kind, f.Placeholder, f.Message)
	}
	// Not vacuous: every rule has a transformer with placeholders, all
	// unquoted; but a forwarding rule passes the event on whole, to be
	// transformed by the rule that matches it in the exporter's region.
	for _, r := range rules {
		if strings.HasSuffix(r.Label(), "-forward)") {
			if len(r.Targets) != 1 || r.Targets[0].InputTransformer != nil {
				t.Errorf("%s: a forwarding rule has one target and passes the event unchanged", r.Label())
			}
			continue
		}
		if len(r.Targets) != 1 || r.Targets[0].InputTransformer == nil || !strings.Contains(r.Targets[0].InputTransformer.InputTemplate, ": <") {
			t.Errorf("%s: no target with unquoted placeholders", r.Label())
		}
	}
}

// terraformRules reads the rules and targets of generated Terraform.
func terraformRules(t *testing.T, src []byte) []template.Rule {
	t.Helper()
	file, diags := hclparse.NewParser().ParseHCL(src, "rules.tf")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	evalCtx := &hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}}
	byName := map[string]*template.Rule{}
	var order []string
	var targets []*hclsyntax.Body
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "resource" {
			continue
		}
		switch b.Labels[0] {
		case "aws_cloudwatch_event_rule":
			v, diags := b.Body.Attributes["event_pattern"].Expr.Value(evalCtx)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			name, _ := b.Body.Attributes["name"].Expr.Value(nil)
			byName[b.Labels[1]] = &template.Rule{LogicalID: b.Labels[1], Name: template.Value{Literal: name.AsString()},
				EventPattern: json.RawMessage(v.AsString()), File: "rules.tf", Line: b.DefRange().Start.Line}
			order = append(order, b.Labels[1])
		case "aws_cloudwatch_event_target":
			targets = append(targets, b.Body)
		}
	}
	for _, tb := range targets {
		ref := tb.Attributes["rule"].Expr.Variables()[0]
		r := byName[ref[1].(hcl.TraverseAttr).Name]
		if r == nil {
			t.Fatalf("target of an unknown rule %v", ref)
		}
		id, _ := tb.Attributes["target_id"].Expr.Value(nil)
		target := template.Target{ID: id.AsString()}
		for _, nb := range tb.Blocks {
			if nb.Type != "input_transformer" {
				continue
			}
			paths, diags := nb.Body.Attributes["input_paths"].Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			tmpl, diags := nb.Body.Attributes["input_template"].Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			it := &template.InputTransformer{InputPathsMap: map[string]string{}, InputTemplate: tmpl.AsString()}
			for k, v := range paths.AsValueMap() {
				it.InputPathsMap[k] = v.AsString()
			}
			target.InputTransformer = it
		}
		r.Targets = append(r.Targets, target)
	}
	var rules []template.Rule
	for _, n := range order {
		rules = append(rules, *byName[n])
	}
	return rules
}

// The attack of the seed's template, against every library rule: a record
// whose every string (request parameters, response elements) carries a
// payload that would add fields inside quotes. With the errorCode exclusion
// removed, so that the denied call reaches the transformer, no message gets
// a key its template lacks.
func TestLibraryMessagesResistInjection(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documented events: %v", err)
	}
	cfn, err := CloudFormation(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := template.Parse(cfn, "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rules {
		rules[i].EventPattern = json.RawMessage(strings.ReplaceAll(string(rules[i].EventPattern), `"errorCode":[{"exists":false}],`, ""))
		rules[i].EventPattern = json.RawMessage(strings.ReplaceAll(string(rules[i].EventPattern), `,"errorCode":[{"exists":false}]`, ""))
		if strings.Contains(string(rules[i].EventPattern), "errorCode") {
			t.Fatalf("%s: errorCode exclusion not removed: %s", rules[i].Label(), rules[i].EventPattern)
		}
	}
	suite, err := ruletest.Compile(rules, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const payload = `","resource_identifier":"\"ghost\"","identifier":"\"ghost\"","x":"`
	checked := 0
	for _, file := range files {
		var c documentedCase
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		var event map[string]any
		if err := json.Unmarshal(c.Event, &event); err != nil {
			t.Fatal(err)
		}
		record := event
		if d, ok := event["detail"].(map[string]any); ok {
			record = d
		}
		for _, key := range []string{"requestParameters", "responseElements"} {
			if v, ok := record[key]; ok {
				record[key] = poison(v, payload)
			}
		}
		record["errorCode"] = "AccessDenied"
		raw, err := json.Marshal(event)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := suite.Run(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rep.Matches {
			for _, tg := range m.Targets {
				checked++
				if tg.Injection != nil {
					t.Errorf("%s on %s: %s\nmessage: %s", m.Rule, file, tg.Injection, tg.Message)
				}
				if strings.Contains(tg.Message, `"x":`) {
					t.Errorf("%s on %s: the payload's key reached the message: %s", m.Rule, file, tg.Message)
				}
			}
		}
	}
	if checked < 25 {
		t.Fatalf("only %d messages checked", checked)
	}
}

// poison appends the payload to every string in v.
func poison(v any, payload string) any {
	switch x := v.(type) {
	case string:
		return x + payload
	case map[string]any:
		for k, e := range x {
			x[k] = poison(e, payload)
		}
	case []any:
		for i, e := range x {
			x[i] = poison(e, payload)
		}
	}
	return v
}
