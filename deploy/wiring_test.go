package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

// TestStackFunctionWiringInMoto deploys the stack with a credentials secret of
// the user's (CustomPortCredentialsSecretARN), so that moto can create the
// role, the function, its event source mapping, the schedule and the invoke
// permission, and reads back what moto made of the template's intrinsics: an
// independent resolution of Refs, GetAtts, Subs and conditions.
func TestStackFunctionWiringInMoto(t *testing.T) {
	server := moto.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := server.AWSConfig(ctx, "us-east-1")

	secret, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("port-credentials-of-the-user"),
		SecretString: aws.String(`{"id":"test-client-id","clientSecret":"test-client-secret"}`),
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	secretARN := aws.ToString(secret.ARN)

	// moto stores the function code but never runs it: any zip with a
	// bootstrap entry stands for the built one.
	const codeBucket, codeKey = "port-exporter-code-wiring", "port-aws-exporter/v1/bootstrap-arm64.zip"
	s3Client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(codeBucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := s3Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(codeBucket), Key: aws.String(codeKey), Body: bytes.NewReader(bootstrapZip(t)),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	const configBucket = "port-exporter-config-wiring"
	params := map[string]string{
		"BucketName":                     configBucket,
		"CodeS3Bucket":                   codeBucket,
		"CodeS3Key":                      codeKey,
		"CustomPortCredentialsSecretARN": secretARN,
		"ResourceReadActions":            "lambda:GetFunction,lambda:ListFunctions",
		"FunctionName":                   "port-exporter-wiring",
	}
	sub, dropped, err := motoSubTemplate(readTemplate(t, stackTemplatePath), motoCloudFormationTypes, params)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ConfigBucketPolicy", "Dashboard", "DeadLetterQueueAlarm", "DeadLetterQueuePolicy", "EventBridgeToToSqsPolicy",
		"EventsFailedAlarm", "EventsQueueAgeAlarm", "SyncDurationAlarm"}; !slices.Equal(dropped, want) {
		t.Fatalf("resources left out = %v, want %v (update docs/install.md)", dropped, want)
	}
	body, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	outputs := createStack(ctx, t, cloudformation.NewFromConfig(cfg), "port-exporter-wiring", string(body), params)

	lambdaClient := lambda.NewFromConfig(cfg)
	fn, err := lambdaClient.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("port-exporter-wiring")})
	if err != nil {
		t.Fatalf("GetFunctionConfiguration: %v", err)
	}
	if got := aws.ToString(fn.FunctionArn); got != outputs["LambdaFunctionARN"] {
		t.Errorf("function ARN %s, output LambdaFunctionARN %s", got, outputs["LambdaFunctionARN"])
	}
	if string(fn.Runtime) != "provided.al2023" || aws.ToString(fn.Handler) != "bootstrap" || aws.ToInt32(fn.Timeout) != 900 {
		t.Errorf("function runs %s/%s with timeout %d, want provided.al2023/bootstrap, 900", fn.Runtime, aws.ToString(fn.Handler), aws.ToInt32(fn.Timeout))
	}
	if got := aws.ToString(fn.Role); got != outputs["LambdaFunctionIamRoleARN"] {
		t.Errorf("function role %s, output LambdaFunctionIamRoleARN %s", got, outputs["LambdaFunctionIamRoleARN"])
	}
	wantEnv := map[string]string{
		"BUCKET_NAME":           configBucket,
		"CONFIG_JSON_FILE_KEY":  "config.json",
		"PORT_CREDS_SECRET_ARN": secretARN,
		"PORT_API_URL":          "https://api.getport.io",
		"EVENTS_QUEUE_URL":      outputs["EventsQueueURL"],
		"DEAD_LETTER_QUEUE_URL": outputs["DeadLetterQueueURL"],
		"CONTINUATION_STORE":    "s3://" + configBucket + "/port-aws-exporter/continuations",
	}
	if fn.Environment == nil || !jsonEqual(t, fn.Environment.Variables, wantEnv) {
		t.Errorf("function environment = %v, want %v", fn.Environment, wantEnv)
	}
	if outputs["PortCredentialsSecretARN"] != secretARN {
		t.Errorf("output PortCredentialsSecretARN = %q, want the given %q", outputs["PortCredentialsSecretARN"], secretARN)
	}

	mappings, err := lambdaClient.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("port-exporter-wiring")})
	if err != nil {
		t.Fatalf("ListEventSourceMappings: %v", err)
	}
	if len(mappings.EventSourceMappings) != 1 {
		t.Fatalf("%d event source mappings, want 1", len(mappings.EventSourceMappings))
	}
	esm := mappings.EventSourceMappings[0]
	if aws.ToString(esm.EventSourceArn) != outputs["EventsQueueARN"] || aws.ToInt32(esm.BatchSize) != 10 ||
		len(esm.FunctionResponseTypes) != 1 || esm.FunctionResponseTypes[0] != "ReportBatchItemFailures" {
		t.Errorf("event source mapping = source %s, batch %d, response types %v; want %s, 10, [ReportBatchItemFailures]",
			aws.ToString(esm.EventSourceArn), aws.ToInt32(esm.BatchSize), esm.FunctionResponseTypes, outputs["EventsQueueARN"])
	}

	events := eventbridge.NewFromConfig(cfg)
	rules, err := events.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: fn.FunctionArn})
	if err != nil || len(rules.RuleNames) != 1 {
		t.Fatalf("rules targeting the function: %v (err %v), want the schedule", rules, err)
	}
	rule, err := events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(rules.RuleNames[0])})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(rule.ScheduleExpression) != "rate(1 hour)" || rule.State != "ENABLED" {
		t.Errorf("schedule %q %s, want rate(1 hour) ENABLED", aws.ToString(rule.ScheduleExpression), rule.State)
	}
	policy, err := lambdaClient.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("port-exporter-wiring")})
	if err != nil {
		t.Fatalf("GetPolicy: %v", err)
	}
	if p := aws.ToString(policy.Policy); !bytes.Contains([]byte(p), []byte(aws.ToString(rule.Arn))) || !bytes.Contains([]byte(p), []byte("events.amazonaws.com")) {
		t.Errorf("function policy %s does not let the schedule rule %s invoke it", p, aws.ToString(rule.Arn))
	}

	t.Run("role policy", func(t *testing.T) {
		iamClient := iam.NewFromConfig(cfg)
		roleName := outputs["LambdaFunctionIamRoleARN"][len("arn:aws:iam::123456789012:role/"):]
		doc, err := iamClient.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String("port-aws-exporter")})
		if err != nil {
			t.Fatalf("GetRolePolicy %s: %v", roleName, err)
		}
		raw, err := url.QueryUnescape(aws.ToString(doc.PolicyDocument))
		if err != nil {
			raw = aws.ToString(doc.PolicyDocument)
		}
		var policy struct {
			Statement []*struct {
				Sid      string
				Action   any
				Resource any
			}
		}
		if err := json.Unmarshal([]byte(pythonLiteralAsJSON(t, raw)), &policy); err != nil {
			t.Fatalf("role policy %s: %v", raw, err)
		}
		got := map[string]any{}
		for _, s := range policy.Statement {
			// moto keeps AWS::NoValue inside lists as null, where
			// CloudFormation removes the element.
			if s != nil {
				got[s.Sid] = map[string]any{"Action": s.Action, "Resource": s.Resource}
			}
		}
		want := map[string]any{
			"ConfiguredKindsRead": map[string]any{"Action": []string{"lambda:GetFunction", "lambda:ListFunctions"}, "Resource": "*"},
			"ConfigObjectRead":    map[string]any{"Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + configBucket + "/config.json"},
			"PortCredentialsRead": map[string]any{"Action": "secretsmanager:GetSecretValue", "Resource": secretARN},
			"DeadLetterQueue":     map[string]any{"Action": []string{"sqs:SendMessage", "sqs:GetQueueUrl"}, "Resource": outputs["DeadLetterQueueARN"]},
			"ContinuationStateReadWrite": map[string]any{"Action": []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
				"Resource": "arn:aws:s3:::" + configBucket + "/port-aws-exporter/continuations/*"},
		}
		for sid, w := range want {
			if !jsonEqual(t, got[sid], w) {
				t.Errorf("statement %s = %v, want %v", sid, got[sid], w)
			}
		}
		if _, ok := got["PortCredentialsDecrypt"]; ok || len(got) != 10 {
			t.Errorf("role policy has %d statements %v, want 10 and no KMS statement without a key", len(got), keys(got))
		}
	})
}

// pythonLiteralAsJSON returns a policy document as JSON. moto 5.2.1 stores the
// inline policies of a CloudFormation role as a Python literal (str of a
// dict); Python's own parser turns that back into data.
func pythonLiteralAsJSON(t *testing.T, doc string) string {
	t.Helper()
	if json.Valid([]byte(doc)) {
		return doc
	}
	python := findTool(t, "python3", "MOTO_PYTHON")
	cmd := exec.Command(python, "-c", "import ast, json, sys; json.dump(ast.literal_eval(sys.stdin.read()), sys.stdout)")
	cmd.Stdin = strings.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read moto's policy document %q: %v", doc, err)
	}
	return string(out)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// bootstrapZip is a deployment package holding an executable named bootstrap.
func bootstrapZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("#!/bin/sh\nexit 0\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
