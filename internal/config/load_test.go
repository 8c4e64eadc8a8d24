package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
)

const lambdaJSON = `{
  "resources": [
    {
      "kind": "AWS::Lambda::Function",
      "selector": {"query": "true", "aws": {"regions": ["eu-west-1"]}},
      "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "lambda", "properties": {"arn": ".Arn"}}]}}
    }
  ]
}`

const lambdaYAML = `resources:
  - kind: AWS::Lambda::Function
    selector:
      query: "true"
      aws:
        regions: [eu-west-1]
    port:
      entity:
        mappings:
          - identifier: .FunctionName
            blueprint: lambda
            properties:
              arn: .Arn
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkLambdaConfig(t *testing.T, cfg *Config, source string) {
	t.Helper()
	if cfg.Source != source {
		t.Errorf("Source = %q, want %q", cfg.Source, source)
	}
	if problems := Validate(cfg); len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(cfg.Resources) != 1 {
		t.Fatalf("resources = %d, want 1", len(cfg.Resources))
	}
	r := cfg.Resources[0]
	m := r.Port.Entity.Mappings
	if r.Kind != "AWS::Lambda::Function" || r.Selector.Query != "true" || len(r.Selector.AWS.Regions) != 1 ||
		r.Selector.AWS.Regions[0] != "eu-west-1" || len(m) != 1 || m[0].Identifier != ".FunctionName" ||
		m[0].Blueprint != "lambda" || len(m[0].Properties) != 1 || m[0].Properties[0] != (Field{"arn", ".Arn"}) {
		t.Fatalf("config read wrongly: %+v", cfg)
	}
}

func TestLoadFiles(t *testing.T) {
	cases := []struct{ name, content string }{
		{"config.json", lambdaJSON},
		{"config.yaml", lambdaYAML},
		{"config.yml", lambdaYAML},
		{"config", lambdaJSON},              // no extension: sniffed as JSON
		{"config.conf", lambdaYAML},         // unknown extension: sniffed as YAML
		{"bom.json", "\ufeff" + lambdaJSON}, // editors on Windows write a BOM
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.name, tc.content)
			cfg, err := Load(t.Context(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkLambdaConfig(t, cfg, p)
		})
	}
}

func TestLoadDecodeErrorsNameFileAndPosition(t *testing.T) {
	cases := []struct {
		name, content, want string
	}{
		{"bad.json", "{\n  \"resources\": [\n    {\"kind\": \"AWS::SQS::Queue\",}\n  ]\n}", "bad.json: line 3, column 32: invalid character '}'"},
		{"trunc.json", "{\n  \"resources\": [", "trunc.json: line 2, column 17: unexpected EOF"},
		{"two.json", `{"resources": []} {}`, `two.json: line 1, column 19: unexpected { after the end of the document`},
		{"bad.yaml", "resources:\n  - kind: [unclosed\n", "bad.yaml: yaml: line 2: did not find expected ',' or ']'"},
		{"indent.yaml", "resources:\n  - kind: x\n   bad: 1\n", "indent.yaml: yaml: line 2: did not find expected '-' indicator"},
		{"quote.yaml", "resources:\n  - kind: x\n  - kind: \"open\n", "quote.yaml: yaml: line 4: found unexpected end of stream"},
		{"empty.yaml", "# only a comment\n", "empty.yaml: the document is empty"},
		{"two.yaml", "resources: []\n---\nresources: []\n", "two.yaml: line 2: a second YAML document"},
		{"merge.yaml", "base: &b {kind: AWS::S3::Bucket}\nresources:\n  - <<: *b\n", "merge.yaml: line 3, column 5: YAML merge keys (<<) are not supported"},
		{"laughs.yaml", billionLaughs, "laughs.yaml: line 1, column 32: the document expands to more than 1048576 values"},
		{"tabs.yaml", "resources:\n\t- kind: x\n", "tabs.yaml: yaml: line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.name, tc.content)
			_, err := Load(t.Context(), p, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, p, tc.want)
			}
		})
	}
}

// billionLaughs expands to 10^9 values through aliases.
const billionLaughs = `a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
resources: *i
`

func TestYAMLKeepsOrderDuplicatesAndStrings(t *testing.T) {
	// YAML 1.1 would read "on", "y" and "no" as booleans and lose the
	// duplicate and the order; the config must not.
	cfg, err := Parse([]byte(`resources:
  - kind: AWS::SQS::Queue
    port:
      entity:
        mappings:
          - identifier: .QueueName
            blueprint: sqs
            properties:
              "on": .Enabled
              y: .Y
              no: .No
              arn: .Arn
              arn: .QueueArn
`), YAML)
	if err != nil {
		t.Fatal(err)
	}
	props := cfg.Resources[0].Port.Entity.Mappings[0].Properties
	want := Fields{{"on", ".Enabled"}, {"y", ".Y"}, {"no", ".No"}, {"arn", ".Arn"}, {"arn", ".QueueArn"}}
	if len(props) != len(want) {
		t.Fatalf("properties = %v, want %v", props, want)
	}
	for i := range want {
		if props[i] != want[i] {
			t.Fatalf("properties = %v, want %v", props, want)
		}
	}
	problems := Validate(cfg)
	if len(problems) != 1 || problems[0].String() != `resources[0].port.entity.mappings[0].properties.arn: property "arn" is mapped twice; only one value can count` {
		t.Fatalf("problems = %v", problems)
	}
}

func TestYAMLAliasesWithinBoundsWork(t *testing.T) {
	cfg, err := Parse([]byte(`mapping: &m
  identifier: .QueueName
  blueprint: sqs
  properties: {arn: .Arn}
resources:
  - kind: AWS::SQS::Queue
    port: {entity: {mappings: [*m]}}
  - kind: AWS::SNS::Topic
    port: {entity: {mappings: [*m]}}
`), YAML)
	if err != nil {
		t.Fatal(err)
	}
	if p := Validate(cfg); len(p) != 0 || len(cfg.Resources) != 2 || cfg.Resources[1].Port.Entity.Mappings[0].Properties[0] != (Field{"arn", ".Arn"}) {
		t.Fatalf("aliases not followed: %+v %v", cfg.Resources, p)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Path != "mapping" {
		t.Fatalf("warnings = %v, want the unknown top-level key only", cfg.Warnings)
	}
}

func TestLoadDeepNestingIsRefused(t *testing.T) {
	p := writeFile(t, "deep.json", `{"resources": `+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`)
	_, err := Load(t.Context(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Fatalf("err = %v, want a nesting error", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(t.Context(), p, nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want ErrNotExist naming the path", err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(t.Context(), p, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestParseS3URL(t *testing.T) {
	bucket, key, err := ParseS3URL("s3://port-aws-exporter-eu-west-1-123/dir/config.json")
	if err != nil || bucket != "port-aws-exporter-eu-west-1-123" || key != "dir/config.json" {
		t.Fatalf("got %q %q %v", bucket, key, err)
	}
	for _, bad := range []string{"s3://", "s3://bucket", "s3://bucket/", "s3:///key", "http://x/y"} {
		if _, _, err := ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) accepted", bad)
		}
	}
}

// TestLoadFromS3 reads configs through the real SDK from moto_server.
func TestLoadFromS3(t *testing.T) {
	srv := moto.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.AWSConfig(ctx, "eu-west-1"), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "port-aws-exporter-config-test"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1},
	}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	put("config.json", lambdaJSON)
	put("nested/dir/config.yaml", lambdaYAML)
	put("broken.json", `{"resources": [`)

	t.Run("json", func(t *testing.T) {
		loc := "s3://" + bucket + "/config.json"
		cfg, err := Load(ctx, loc, client)
		if err != nil {
			t.Fatal(err)
		}
		checkLambdaConfig(t, cfg, loc)
	})
	t.Run("yaml under a prefix", func(t *testing.T) {
		loc := "s3://" + bucket + "/nested/dir/config.yaml"
		cfg, err := Load(ctx, loc, client)
		if err != nil {
			t.Fatal(err)
		}
		checkLambdaConfig(t, cfg, loc)
	})
	t.Run("syntax error names the object", func(t *testing.T) {
		loc := "s3://" + bucket + "/broken.json"
		_, err := Load(ctx, loc, client)
		if err == nil || !strings.Contains(err.Error(), loc) || !strings.Contains(err.Error(), "line 1, column 16") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing key is NoSuchKey", func(t *testing.T) {
		loc := "s3://" + bucket + "/absent.json"
		_, err := Load(ctx, loc, client)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchKey" || !strings.Contains(err.Error(), loc) {
			t.Fatalf("err = %v, want NoSuchKey naming %s", err, loc)
		}
	})
	t.Run("no client", func(t *testing.T) {
		if _, err := Load(ctx, "s3://"+bucket+"/config.json", nil); err == nil {
			t.Fatal("no error without an S3 client")
		}
	})
}
