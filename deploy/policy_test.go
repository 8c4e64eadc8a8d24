package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The Terraform module's resource policies say what the stack's say (the
// stack's are checked by testdata/stack-contract.yaml): only EventBridge rules
// of the account (name prefix variable) and the exporter's role may send to
// the events queue, and the queues and the config bucket refuse requests
// without TLS. moto evaluates neither SQS queue policies nor S3 bucket
// policies (and cannot create them from CloudFormation), so these tests check
// the statements as written.
func TestTerraformResourcePoliciesDenyOthers(t *testing.T) {
	path := filepath.Join("terraform", "modules", "port-aws-exporter", "main.tf")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	text := func(e hclsyntax.Expression) string {
		r := e.Range()
		return string(src[r.Start.Byte:r.End.Byte])
	}
	type statement struct{ sid, effect, actions, resources, principals string }
	docs := map[string][]statement{}
	conditions := map[string][]string{} // "doc/sid" -> "test variable values"
	policies := map[string]string{}     // resource -> its policy expression
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		switch {
		case b.Type == "data" && b.Labels[0] == "aws_iam_policy_document":
			for _, sb := range b.Body.Blocks {
				if sb.Type != "statement" {
					continue
				}
				st := statement{}
				attr := func(name string) string {
					if a, ok := sb.Body.Attributes[name]; ok {
						return text(a.Expr)
					}
					return ""
				}
				st.sid, st.effect, st.actions, st.resources = attr("sid"), attr("effect"), attr("actions"), attr("resources")
				for _, nb := range sb.Body.Blocks {
					switch nb.Type {
					case "principals":
						st.principals = text(nb.Body.Attributes["type"].Expr) + " " + text(nb.Body.Attributes["identifiers"].Expr)
					case "condition":
						key := b.Labels[1] + "/" + strings.Trim(st.sid, `"`)
						conditions[key] = append(conditions[key], text(nb.Body.Attributes["test"].Expr)+" "+
							text(nb.Body.Attributes["variable"].Expr)+" "+text(nb.Body.Attributes["values"].Expr))
					}
				}
				docs[b.Labels[1]] = append(docs[b.Labels[1]], st)
			}
		case b.Type == "resource" && (b.Labels[0] == "aws_sqs_queue_policy" || b.Labels[0] == "aws_s3_bucket_policy"):
			policies[b.Labels[0]+"."+b.Labels[1]] = text(b.Body.Attributes["policy"].Expr)
		}
	}
	find := func(doc, sid string) *statement {
		for _, st := range docs[doc] {
			if st.sid == `"`+sid+`"` {
				return &st
			}
		}
		t.Errorf("policy document %s has no statement %s", doc, sid)
		return nil
	}

	if st := find("events_queue", "DenySendExceptEventBridgeRulesAndTheExporter"); st != nil {
		if st.effect != `"Deny"` || st.actions != `["sqs:SendMessage"]` || st.principals != `"*" ["*"]` || st.resources != "[aws_sqs_queue.events.arn]" {
			t.Errorf("send deny statement: %+v", *st)
		}
		got := strings.Join(conditions["events_queue/DenySendExceptEventBridgeRulesAndTheExporter"], "; ")
		want := `"ArnNotLike" "aws:SourceArn" [local.event_rules_arn]; "ArnNotEquals" "aws:PrincipalArn" [aws_iam_role.exporter.arn]`
		if got != want {
			t.Errorf("send deny conditions:\n got %s\nwant %s", got, want)
		}
	}
	if got := strings.Join(conditions["events_queue/EventBridgeRulesOfThisAccount"], "; "); !strings.Contains(got, `"ArnLike" "aws:SourceArn" [local.event_rules_arn]`) ||
		!strings.Contains(got, `"StringEquals" "aws:SourceAccount" [local.account_id]`) {
		t.Errorf("EventBridge allow conditions: %s", got)
	}
	if !strings.Contains(string(src), `event_rules_arn             = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.event_rule_name_prefix}*"`) {
		t.Error("local.event_rules_arn is not the rules of this account and region with the name prefix")
	}
	for doc, resources := range map[string]string{
		"events_queue":      "[aws_sqs_queue.events.arn]",
		"dead_letter_queue": "[aws_sqs_queue.dead_letter.arn]",
		"config_bucket":     `[aws_s3_bucket.config[0].arn, "${aws_s3_bucket.config[0].arn}/*"]`,
	} {
		st := find(doc, "DenyUnencryptedTransport")
		if st == nil {
			continue
		}
		if st.effect != `"Deny"` || st.principals != `"*" ["*"]` || st.resources != resources ||
			strings.Join(conditions[doc+"/DenyUnencryptedTransport"], "") != `"Bool" "aws:SecureTransport" ["false"]` {
			t.Errorf("%s TLS deny: %+v %v", doc, *st, conditions[doc+"/DenyUnencryptedTransport"])
		}
	}
	for res, want := range map[string]string{
		"aws_sqs_queue_policy.events":      "data.aws_iam_policy_document.events_queue.json",
		"aws_sqs_queue_policy.dead_letter": "data.aws_iam_policy_document.dead_letter_queue.json",
		"aws_s3_bucket_policy.config":      "data.aws_iam_policy_document.config_bucket[0].json",
	} {
		if policies[res] != want {
			t.Errorf("%s policy = %q, want %s", res, policies[res], want)
		}
	}
}
