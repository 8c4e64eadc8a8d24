package describe

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"go.yaml.in/yaml/v3"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// CloudFormation stacks: the original listed with ListStacks (skipping
// DELETE_COMPLETE), described each stack by id, and added StackResources
// (DescribeStackResources: at most 100 resources, as AWS documents) and
// TemplateBody (GetTemplate). Here the pages of DescribeStacks give the
// stacks (it lists no deleted stack). boto3 decodes a JSON template into a
// dict, which the original wrote out as YAML (PyYAML's yaml.dump: keys
// sorted, block style); a YAML template stays the text it is. The YAML
// written here for a JSON template holds the same values, keys sorted, but
// its layout can differ from PyYAML's (sequence indentation, quoting).
var cfnCalls = calls{service: "CloudFormation", perResource: []string{"DescribeStackResources", "GetTemplate"}}

var stackKind = kind{
	permissions: []string{"cloudformation:DescribeStacks", "cloudformation:DescribeStackResources", "cloudformation:GetTemplate"},
	list:        listStacks,
	get:         getStack,
}

func listStacks(ctx context.Context, c *clients, l *lister) error {
	pages := cloudformation.NewDescribeStacksPaginator(c.CloudFormation(), &cloudformation.DescribeStacksInput{})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("DescribeStacks, page %d: %w", page, err)
		}
		for _, st := range out.Stacks {
			if st.StackStatus == types.StackStatusDeleteComplete {
				continue
			}
			l.enrich(aws.ToString(st.StackId), func(ctx context.Context) (item, error) { return completeStack(ctx, c, st) })
		}
	}
	return nil
}

func getStack(ctx context.Context, c *clients, identifier string) (item, error) {
	// DescribeStacks takes a stack id or name: Cloud Control's identifier
	// is the id, the original's event rules sent the name.
	out, err := c.CloudFormation().DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &identifier})
	if err != nil {
		return item{}, stackGone(fmt.Errorf("DescribeStacks: %w", err))
	}
	if len(out.Stacks) != 1 {
		return item{}, fmt.Errorf("DescribeStacks answered %d stacks, want 1", len(out.Stacks))
	}
	st := out.Stacks[0]
	if st.StackStatus == types.StackStatusDeleteComplete {
		// Described by id, a deleted stack is still answered (for 90 days),
		// in DELETE_COMPLETE: AWS's word that it is gone, and the listing
		// skips it too.
		return item{}, source.NotFound(fmt.Errorf("stack %s is %s", aws.ToString(st.StackId), st.StackStatus))
	}
	return completeStack(ctx, c, st)
}

// stackGone marks CloudFormation's not-found answer: a ValidationError
// saying the stack does not exist.
func stackGone(err error) error {
	if apiCode(err) == "ValidationError" && strings.Contains(apiMessage(err), "does not exist") {
		return source.NotFound(err)
	}
	return err
}

// completeStack adds StackResources and TemplateBody, as the original did.
func completeStack(ctx context.Context, c *clients, st types.Stack) (item, error) {
	id := aws.ToString(st.StackId)
	res, err := c.CloudFormation().DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: &id})
	if err != nil {
		return item{}, stackGone(fmt.Errorf("DescribeStackResources: %w", err))
	}
	tmpl, err := c.CloudFormation().GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: &id})
	if err != nil {
		return item{}, stackGone(fmt.Errorf("GetTemplate: %w", err))
	}
	doc := document(st)
	doc["StackResources"] = list(res.StackResources)
	if body, ok := templateBody(tmpl.TemplateBody); ok {
		doc["TemplateBody"] = body
	}
	return item{id: id, doc: doc}, nil
}

// templateBody is TemplateBody as the original's document held it: a JSON
// object template as YAML text (boto3 decodes JSON templates, the original
// dumped them as YAML), any other JSON value decoded (what boto3 gave), and
// anything else (a YAML template) as it is.
func templateBody(body *string) (any, bool) {
	if body == nil {
		return nil, false
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(*body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || strings.TrimSpace((*body)[dec.InputOffset():]) != "" {
		return *body, true // not JSON, or data after the value: not JSON to boto3 either
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return numbersOf(v), true
	}
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2) // PyYAML's
	if err := enc.Encode(numbersOf(obj)); err != nil {
		return *body, true
	}
	return buf.String(), true
}

// numbersOf replaces json.Number by int or float64, as a document holds numbers.
func numbersOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbersOf(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersOf(e)
		}
	}
	return v
}
