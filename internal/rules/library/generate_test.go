package library

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite docs/kinds.md from the library")

// skipOrFail skips a test whose tool is missing, except under CI=true, where
// a missing tool means the CI script failed to install it.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the CI script must install it)", why)
	}
	t.Skip(why)
}

// findTool finds a tool by env var, then a fixed path, then PATH.
func findTool(t *testing.T, envVar, fixedPath, pathName string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if _, err := os.Stat(fixedPath); err == nil {
		return fixedPath
	}
	if pathName != "" {
		if p, err := exec.LookPath(pathName); err == nil {
			return p
		}
	}
	skipOrFail(t, "not found: set "+envVar+", install "+fixedPath+" or put "+pathName+" on PATH")
	return ""
}

func TestCloudFormationPassesCfnLint(t *testing.T) {
	t.Parallel() // a subprocess or server round trips: overlap with the rest
	cfnLint := findTool(t, "PORT_AWS_EXPORTER_CFN_LINT", "/root/.pyenv/versions/3.11.7/bin/cfn-lint", "cfn-lint")
	out, err := CloudFormation(allKinds(t))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if report, err := exec.Command(cfnLint, file).CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, report)
	}
}

// The generated template has the seed's shape: its parameter, and per kind one
// rule on the default bus whose target imports the exporter's queue ARN.
func TestCloudFormationHasTheSeedsShape(t *testing.T) {
	kinds := allKinds(t)
	out, err := CloudFormation(kinds)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Parameters map[string]map[string]any
		Resources  map[string]struct {
			Type       string
			Properties struct {
				Name, EventBusName, State string
				EventPattern              map[string]any
				Targets                   []struct {
					Id               string
					Arn              map[string]any
					InputTransformer InputTransformer
				}
			}
		}
	}
	if err := yaml.Unmarshal(out, &tmpl); err != nil {
		t.Fatal(err)
	}
	param := tmpl.Parameters[StackNameParameter]
	wantParam := map[string]any{"Type": "String", "MinLength": 1.0, "MaxLength": 255.0,
		"AllowedPattern": "^[a-zA-Z][-a-zA-Z0-9]*$", "Default": "serverlessrepo-port-aws-exporter",
		"Description": "Name of the Port AWS exporter stack name"}
	if !reflect.DeepEqual(param, wantParam) {
		t.Errorf("parameter %v, want the seed's %v", param, wantParam)
	}
	if len(tmpl.Resources) != len(kinds) {
		t.Fatalf("%d resources for %d kinds", len(tmpl.Resources), len(kinds))
	}
	ruleName := regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)
	wantArn := map[string]any{"Fn::ImportValue": map[string]any{"Fn::Sub": "${PortAWSExporterStackName}-EventsQueueARN"}}
	for _, k := range kinds {
		r, ok := tmpl.Resources[k.LogicalID()]
		if !ok {
			t.Errorf("%s: no resource %s", k.Type, k.LogicalID())
			continue
		}
		p := r.Properties
		if r.Type != "AWS::Events::Rule" || p.EventBusName != "default" || p.State != "ENABLED" || !ruleName.MatchString(p.Name) {
			t.Errorf("%s: %s %s on %q, state %q", k.Type, r.Type, p.Name, p.EventBusName, p.State)
		}
		if len(p.Targets) != 1 || p.Targets[0].Id != TargetID || !reflect.DeepEqual(p.Targets[0].Arn, wantArn) {
			t.Errorf("%s: targets %+v", k.Type, p.Targets)
			continue
		}
		if want := k.InputTransformer(); !reflect.DeepEqual(p.Targets[0].InputTransformer, want) {
			t.Errorf("%s: transformer %+v, want %+v", k.Type, p.Targets[0].InputTransformer, want)
		}
		wantPattern := roundTrip(t, k.Pattern())
		if !reflect.DeepEqual(p.EventPattern, wantPattern) {
			t.Errorf("%s: pattern %v, want %v", k.Type, p.EventPattern, wantPattern)
		}
	}
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Generated Terraform parses as HCL, references only declared variables and
// resources, and carries each kind's pattern and transformer unchanged.
func TestTerraformParsesAndIsSelfContained(t *testing.T) {
	kinds := allKinds(t)
	out, err := Terraform(kinds)
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclparse.NewParser().ParseHCL(out, "rules.tf")
	if diags.HasErrors() {
		t.Fatalf("generated Terraform does not parse: %s", diags.Error())
	}
	body := file.Body.(*hclsyntax.Body)
	variables := map[string]bool{}
	resources := map[string]*hclsyntax.Body{}
	providers := map[string]bool{} // configuration_aliases: aws.us_east_1
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable":
			variables[b.Labels[0]] = true
		case "resource":
			resources[b.Labels[0]+"."+b.Labels[1]] = b.Body
		case "data":
			resources["data."+b.Labels[0]+"."+b.Labels[1]] = b.Body
		case "terraform":
			for _, rp := range b.Body.Blocks {
				if a, ok := rp.Body.Attributes["aws"]; ok && rp.Type == "required_providers" {
					obj, _ := a.Expr.(*hclsyntax.ObjectConsExpr)
					for _, item := range obj.Items {
						if k, _ := item.KeyExpr.Value(nil); k.AsString() == "configuration_aliases" {
							for _, v := range item.ValueExpr.Variables() {
								providers[v.RootName()+"."+v[1].(hcl.TraverseAttr).Name] = true
							}
						}
					}
				}
			}
		default:
			t.Errorf("unexpected block %s", b.Type)
		}
	}

	var refs []hcl.Traversal
	var walk func(*hclsyntax.Body, string)
	walk = func(b *hclsyntax.Body, blockType string) {
		for name, a := range b.Attributes {
			if blockType == "variable" && name == "type" {
				continue // a type constraint (string), not a reference
			}
			refs = append(refs, a.Expr.Variables()...)
		}
		for _, nested := range b.Blocks {
			walk(nested.Body, nested.Type)
		}
	}
	walk(body, "")
	for _, ref := range refs {
		root := ref.RootName()
		switch {
		case root == "var":
			name := ref[1].(hcl.TraverseAttr).Name
			if !variables[name] {
				t.Errorf("reference to undeclared variable var.%s", name)
			}
		case root == "data" && len(ref) >= 3:
			addr := "data." + ref[1].(hcl.TraverseAttr).Name + "." + ref[2].(hcl.TraverseAttr).Name
			if resources[addr] == nil {
				t.Errorf("reference to undeclared data source %s", addr)
			}
		case root == "aws" && len(ref) == 2:
			if addr := "aws." + ref[1].(hcl.TraverseAttr).Name; !providers[addr] {
				t.Errorf("reference to undeclared provider %s", addr)
			}
		case len(ref) >= 2:
			addr := root + "." + ref[1].(hcl.TraverseAttr).Name
			if resources[addr] == nil {
				t.Errorf("reference to undeclared resource %s", addr)
			}
		default:
			t.Errorf("unexpected reference %s", root)
		}
	}
	if !variables[QueueARNVariable] {
		t.Errorf("variable %s is not declared", QueueARNVariable)
	}
	// Terraform's jsonencode, the only function the generated file calls.
	evalCtx := &hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}}
	for _, k := range kinds {
		rule := resources["aws_cloudwatch_event_rule."+k.TerraformName()]
		target := resources["aws_cloudwatch_event_target."+k.TerraformName()]
		if rule == nil || target == nil {
			t.Errorf("%s: rule or target missing", k.Type)
			continue
		}
		v, diags := rule.Attributes["event_pattern"].Expr.Value(evalCtx)
		if diags.HasErrors() {
			t.Fatalf("%s: event_pattern: %s", k.Type, diags.Error())
		}
		var pattern map[string]any
		if err := json.Unmarshal([]byte(v.AsString()), &pattern); err != nil {
			t.Fatalf("%s: event_pattern is not JSON: %v", k.Type, err)
		}
		if !reflect.DeepEqual(pattern, roundTrip(t, k.Pattern())) {
			t.Errorf("%s: event_pattern differs from the library's pattern", k.Type)
		}
		var it *hclsyntax.Body
		for _, b := range target.Blocks {
			if b.Type == "input_transformer" {
				it = b.Body
			}
		}
		if it == nil {
			t.Fatalf("%s: target has no input_transformer", k.Type)
		}
		tmpl, diags := it.Attributes["input_template"].Expr.Value(nil)
		if diags.HasErrors() || tmpl.AsString() != k.InputTransformer().InputTemplate {
			t.Errorf("%s: input_template differs from the library's (%s)", k.Type, diags.Error())
		}
	}
}

// docs/kinds.md is generated from the library; `go test -run KindsMarkdown -update` rewrites it.
func TestKindsMarkdownIsCurrent(t *testing.T) {
	want := "# Supported kinds\n\n" +
		"Generated from internal/rules/library by `go test ./internal/rules/library -run KindsMarkdown -update`; do not edit.\n\n" +
		EntityIdentifiersNote + "\n" +
		MarkdownTable(allKinds(t)) +
		cloudControlReadsMarkdown(t) +
		describeMarkdown() +
		"\n## Limits and evidence\n\n" +
		"One message reaches the exporter per event; rules of global services (IAM, CloudFront) must run in us-east-1.\n\n" +
		MarkdownNotes(allKinds(t))
	path := filepath.Join("..", "..", "..", "docs", "kinds.md")
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(got) != want {
		t.Errorf("docs/kinds.md is stale: run `go test ./internal/rules/library -run KindsMarkdown -update`")
	}
}

func TestSelect(t *testing.T) {
	all := allKinds(t)
	for _, c := range []struct {
		name    string
		spec    []string
		want    []string
		wantErr string
	}{
		{"short names", []string{"ecs-service", "lambda-function"}, []string{"AWS::ECS::Service", "AWS::Lambda::Function"}, ""},
		{"types, any case, spaces", []string{" aws::s3::bucket", "AWS::IAM::Role "}, []string{"AWS::S3::Bucket", "AWS::IAM::Role"}, ""},
		{"duplicates once", []string{"s3-bucket", "AWS::S3::Bucket"}, []string{"AWS::S3::Bucket"}, ""},
		{"unknown", []string{"s3-bucket", "AWS::Nope::Thing"}, nil, `unknown kind "AWS::Nope::Thing"`},
		{"nothing", []string{"", " "}, nil, "no kinds selected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Select(c.spec)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, k := range got {
				types = append(types, k.Type)
			}
			if !reflect.DeepEqual(types, c.want) {
				t.Errorf("got %v, want %v", types, c.want)
			}
		})
	}
	got, err := Select([]string{"all"})
	if err != nil || len(got) != len(all) {
		t.Errorf("all: %d kinds, %v; want %d", len(got), err, len(all))
	}
}

func FuzzSelect(f *testing.F) {
	for _, s := range []string{"all", "ecs-service,AWS::S3::Bucket", " ,", "AWS::Lambda::Function"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		kinds, err := Select(strings.Split(spec, ","))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range kinds {
			if seen[k.Type] {
				t.Fatalf("%s selected twice from %q", k.Type, spec)
			}
			seen[k.Type] = true
		}
	})
}

// A bundle keeps relations only to selected blueprints, and lists relation
// targets before the blueprints that use them.
func TestBundleRelations(t *testing.T) {
	alone, err := Select([]string{"ecs-service"})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBundle(alone)
	if len(b.Blueprints[0].Relations) != 0 || len(b.Config.Resources[0].Port.Entity.Mappings[0].Relations) != 0 {
		t.Errorf("relation to an unselected blueprint kept: %+v", b.Blueprints[0].Relations)
	}
	both, err := Select([]string{"ecs-service", "ecs-cluster"})
	if err != nil {
		t.Fatal(err)
	}
	b = NewBundle(both)
	if b.Blueprints[0].Identifier != "awsEcsCluster" || b.Blueprints[1].Relations["cluster"].Target != "awsEcsCluster" {
		t.Errorf("blueprints in order %s, %s with relations %v", b.Blueprints[0].Identifier, b.Blueprints[1].Identifier, b.Blueprints[1].Relations)
	}
	if b.Config.Resources[0].Port.Entity.Mappings[0].Relations["cluster"] == "" {
		t.Errorf("mapping lost its cluster relation")
	}
	// The library's own data is not changed by pruning.
	k, _ := Select([]string{"ecs-service"})
	if len(k[0].Blueprint.Relations) != 1 {
		t.Errorf("pruning changed the library: %v", k[0].Blueprint.Relations)
	}
}
