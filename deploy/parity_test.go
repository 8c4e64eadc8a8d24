package deploy_test

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"sigs.k8s.io/yaml"
)

const terraformModuleDir = "terraform/modules/port-aws-exporter"

// TestTerraformModuleMatchesStack keeps the two installers equivalent: the
// same resources, the same environment for the binary, the same IAM statements.
func TestTerraformModuleMatchesStack(t *testing.T) {
	stack := readTemplate(t, stackTemplatePath)
	module, err := loadTFModule(terraformModuleDir)
	if err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile("testdata/parity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var counterpart map[string]string
	if err := yaml.Unmarshal(raw, &counterpart); err != nil {
		t.Fatal(err)
	}
	stackCount := map[string]int{}
	for id, r := range stack["Resources"].(map[string]any) {
		typ := r.(map[string]any)["Type"].(string)
		if _, ok := counterpart[typ]; !ok {
			t.Errorf("stack resource %s (%s) has no Terraform counterpart in testdata/parity.yaml", id, typ)
		}
		stackCount[typ]++
	}
	moduleCount := map[string]int{}
	for addr := range module.resources {
		moduleCount[strings.SplitN(addr, ".", 2)[0]]++
	}
	for cfnType, tfType := range counterpart {
		if stackCount[cfnType] != moduleCount[tfType] {
			t.Errorf("stack has %d %s, module has %d %s", stackCount[cfnType], cfnType, moduleCount[tfType], tfType)
		}
	}

	t.Run("environment", func(t *testing.T) {
		var stackEnv []string
		for k := range stack["Resources"].(map[string]any)["LambdaFunction"].(map[string]any)["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any) {
			stackEnv = append(stackEnv, k)
		}
		fn := findBlock(module, "resource", "aws_lambda_function")
		env := childBlock(fn, "environment")
		if env == nil {
			t.Fatal("module's function has no environment block")
		}
		obj, ok := env.Body.Attributes["variables"].Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			t.Fatal("module's function environment variables are not an object")
		}
		var moduleEnv []string
		for _, item := range obj.Items {
			moduleEnv = append(moduleEnv, hcl.ExprAsKeyword(item.KeyExpr))
		}
		sort.Strings(stackEnv)
		sort.Strings(moduleEnv)
		if !slices.Equal(stackEnv, moduleEnv) {
			t.Errorf("stack sets %v, module sets %v", stackEnv, moduleEnv)
		}
	})

	t.Run("IAM statements", func(t *testing.T) {
		var stackSids []string
		role := stack["Resources"].(map[string]any)["LambdaFunctionRole"].(map[string]any)["Properties"].(map[string]any)
		for _, p := range role["Policies"].([]any) {
			for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				s := st.(map[string]any)
				if cond, ok := s["Fn::If"].([]any); ok {
					s = cond[1].(map[string]any)
				}
				stackSids = append(stackSids, s["Sid"].(string))
			}
		}
		var moduleSids []string
		doc := findBlockNamed(module, "data", "aws_iam_policy_document", "exporter")
		if doc == nil {
			t.Fatal("module has no data.aws_iam_policy_document.exporter")
		}
		for _, b := range doc.Body.Blocks {
			body := b.Body
			if b.Type == "dynamic" {
				body = childBlock(b, "content").Body
			}
			if sid, ok := body.Attributes["sid"]; ok {
				v, diags := sid.Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatal(diags.Error())
				}
				moduleSids = append(moduleSids, v.AsString())
			}
		}
		sort.Strings(stackSids)
		sort.Strings(moduleSids)
		if !slices.Equal(stackSids, moduleSids) {
			t.Errorf("stack role statements %v, module role statements %v", stackSids, moduleSids)
		}
	})
}

func findBlock(m *tfModule, blockType, label string) *hclsyntax.Block {
	for _, body := range m.bodies {
		for _, b := range body.Blocks {
			if b.Type == blockType && len(b.Labels) > 0 && b.Labels[0] == label {
				return b
			}
		}
	}
	return nil
}

func findBlockNamed(m *tfModule, blockType, label, name string) *hclsyntax.Block {
	for _, body := range m.bodies {
		for _, b := range body.Blocks {
			if b.Type == blockType && len(b.Labels) == 2 && b.Labels[0] == label && b.Labels[1] == name {
				return b
			}
		}
	}
	return nil
}

func childBlock(b *hclsyntax.Block, blockType string) *hclsyntax.Block {
	if b == nil {
		return nil
	}
	for _, c := range b.Body.Blocks {
		if c.Type == blockType {
			return c
		}
	}
	return nil
}
