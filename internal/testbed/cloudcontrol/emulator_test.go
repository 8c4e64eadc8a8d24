package cloudcontrol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cc "github.com/aws/aws-sdk-go-v2/service/cloudcontrol"
	"github.com/aws/aws-sdk-go-v2/service/cloudcontrol/types"
	"github.com/aws/smithy-go"
	"sigs.k8s.io/yaml"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
)

const lambdaType = "AWS::Lambda::Function"

// start serves an emulator for one test.
func start(t *testing.T, e *cloudcontrol.Emulator) *cloudcontrol.Server {
	t.Helper()
	srv, err := e.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// client is the real SDK client with its retries off, so every emulated
// error reaches the test.
func client(srv *cloudcontrol.Server, region string) *cc.Client {
	return cc.NewFromConfig(srv.AWSConfig(region), func(o *cc.Options) { o.RetryMaxAttempts = 1 })
}

func put(t *testing.T, e *cloudcontrol.Emulator, region, typeName, id string, props map[string]any) {
	t.Helper()
	if err := e.Put(region, typeName, id, props); err != nil {
		t.Fatal(err)
	}
}

// listAll pages through ListResources and returns identifiers and page count.
func listAll(ctx context.Context, c *cc.Client, in *cc.ListResourcesInput) ([]string, int, error) {
	var ids []string
	pages := 0
	p := cc.NewListResourcesPaginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return ids, pages, err
		}
		pages++
		for _, d := range out.ResourceDescriptions {
			ids = append(ids, aws.ToString(d.Identifier))
		}
	}
	return ids, pages, nil
}

type errorCase struct {
	Name   string `json:"name"`
	Faults []struct {
		Scope struct {
			Region     string `json:"region"`
			Type       string `json:"type"`
			Identifier string `json:"identifier"`
		} `json:"scope"`
		Kind string `json:"kind"`
	} `json:"faults"`
	Throttle      float64 `json:"throttle"`
	Op            string  `json:"op"`
	Type          string  `json:"type"`
	Identifier    string  `json:"identifier"`
	ResourceModel string  `json:"resourceModel"`
	NextToken     string  `json:"nextToken"`
	MaxResults    int32   `json:"maxResults"`
	Want          struct {
		Typed   *string `json:"typed"`
		Code    string  `json:"code"`
		Status  int     `json:"status"`
		Message string  `json:"message"`
		Listed  int     `json:"listed"`
	} `json:"want"`
}

// typedErrors maps a case's `typed` name to a pointer errors.As can fill.
func typedTarget(name string) any {
	switch name {
	case "ResourceNotFoundException":
		return new(*types.ResourceNotFoundException)
	case "ThrottlingException":
		return new(*types.ThrottlingException)
	case "TypeNotFoundException":
		return new(*types.TypeNotFoundException)
	case "UnsupportedActionException":
		return new(*types.UnsupportedActionException)
	case "GeneralServiceException":
		return new(*types.GeneralServiceException)
	case "InvalidRequestException":
		return new(*types.InvalidRequestException)
	case "ServiceInternalErrorException":
		return new(*types.ServiceInternalErrorException)
	case "":
		return new(*smithy.GenericAPIError)
	}
	return nil
}

func TestErrorsThroughSDK(t *testing.T) {
	data, err := os.ReadFile("testdata/errors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []errorCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("testdata/errors.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/errors.yaml")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			e := cloudcontrol.New()
			e.SetType("AWS::EKS::Nodegroup", cloudcontrol.TypeConfig{RequiredModelProperties: []string{"ClusterName"}})
			put(t, e, "eu-west-1", lambdaType, "fn-a", map[string]any{"FunctionName": "fn-a"})
			put(t, e, "eu-west-1", lambdaType, "fn-b", map[string]any{"FunctionName": "fn-b"})
			put(t, e, "eu-west-1", "AWS::EKS::Nodegroup", "main/a", map[string]any{"ClusterName": "main", "Id": "main/a"})
			put(t, e, "eu-west-1", "AWS::EKS::Nodegroup", "other/a", map[string]any{"ClusterName": "other", "Id": "other/a"})
			for _, f := range tc.Faults {
				e.SetFault(cloudcontrol.Scope{Region: f.Scope.Region, Type: f.Scope.Type, Identifier: f.Scope.Identifier}, cloudcontrol.FaultKind(f.Kind))
			}
			if tc.Throttle > 0 {
				e.SetThrottle(tc.Throttle, 1)
			}
			c := client(start(t, e), "eu-west-1")
			typeName := tc.Type
			if typeName == "" {
				typeName = lambdaType
			}
			ctx := context.Background()
			listed := 0
			switch tc.Op {
			case "get":
				_, err = c.GetResource(ctx, &cc.GetResourceInput{TypeName: &typeName, Identifier: &tc.Identifier})
			case "list":
				in := &cc.ListResourcesInput{TypeName: &typeName}
				if tc.ResourceModel != "" {
					in.ResourceModel = &tc.ResourceModel
				}
				if tc.NextToken != "" {
					in.NextToken = &tc.NextToken
				}
				if tc.MaxResults != 0 {
					in.MaxResults = &tc.MaxResults
				}
				var out *cc.ListResourcesOutput
				out, err = c.ListResources(ctx, in)
				if err == nil {
					listed = len(out.ResourceDescriptions)
				}
			default:
				t.Fatalf("unknown op %q", tc.Op)
			}
			if tc.Want.Typed == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if listed != tc.Want.Listed {
					t.Errorf("listed %d, want %d", listed, tc.Want.Listed)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %s, got success", tc.Want.Code)
			}
			target := typedTarget(*tc.Want.Typed)
			if target == nil {
				t.Fatalf("case names unknown SDK type %q", *tc.Want.Typed)
			}
			if !errors.As(err, target) {
				t.Errorf("errors.As(%T) failed for %v", target, err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("not a smithy.APIError: %v", err)
			}
			if api.ErrorCode() != tc.Want.Code {
				t.Errorf("code %q, want %q", api.ErrorCode(), tc.Want.Code)
			}
			if !strings.Contains(api.ErrorMessage(), tc.Want.Message) {
				t.Errorf("message %q does not contain %q", api.ErrorMessage(), tc.Want.Message)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.Want.Status {
				t.Errorf("HTTP status of %v, want %d", err, tc.Want.Status)
			}
		})
	}
}

func TestPaginationSmallPages(t *testing.T) {
	e := cloudcontrol.New()
	const n = 137
	for i := range n {
		put(t, e, "eu-west-1", lambdaType, fmt.Sprintf("fn-%03d", i), map[string]any{"FunctionName": i})
	}
	c := client(start(t, e), "eu-west-1")
	for _, tc := range []struct {
		maxResults int32
		wantPages  int
	}{{0, 6}, {100, 6}, {25, 6}, {10, 14}, {1, n}} {
		t.Run(fmt.Sprintf("MaxResults=%d", tc.maxResults), func(t *testing.T) {
			in := &cc.ListResourcesInput{TypeName: aws.String(lambdaType)}
			if tc.maxResults > 0 {
				in.MaxResults = aws.Int32(tc.maxResults)
			}
			ids, pages, err := listAll(context.Background(), c, in)
			if err != nil {
				t.Fatal(err)
			}
			if pages != tc.wantPages {
				t.Errorf("%d pages, want %d", pages, tc.wantPages)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
			}
			if len(seen) != n {
				t.Errorf("%d distinct resources, want %d", len(seen), n)
			}
		})
	}
}

func TestPaginationSurvivesChanges(t *testing.T) {
	e := cloudcontrol.New()
	for i := range 60 {
		put(t, e, "eu-west-1", lambdaType, fmt.Sprintf("fn-%03d", i), nil)
	}
	c := client(start(t, e), "eu-west-1")
	ctx := context.Background()
	first, err := c.ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
	if err != nil {
		t.Fatal(err)
	}
	// Delete an identifier on the next page and one already returned: the
	// rest of the listing neither skips nor repeats a survivor.
	e.Delete("eu-west-1", lambdaType, "fn-030")
	e.Delete("eu-west-1", lambdaType, "fn-000")
	rest, _, err := listAll(ctx, c, &cc.ListResourcesInput{TypeName: aws.String(lambdaType), NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(first.ResourceDescriptions) + len(rest); got != 59 {
		t.Errorf("listed %d after deleting one unseen resource, want 59", got)
	}
	if rest[0] != "fn-025" {
		t.Errorf("second page starts at %s, want fn-025", rest[0])
	}
}

func TestRepeatNextTokenFault(t *testing.T) {
	e := cloudcontrol.New()
	for i := range 60 {
		put(t, e, "eu-west-1", lambdaType, fmt.Sprintf("fn-%03d", i), nil)
	}
	e.SetFault(cloudcontrol.Scope{Type: lambdaType}, cloudcontrol.RepeatNextToken)
	c := client(start(t, e), "eu-west-1")
	ctx := context.Background()
	first, err := c.ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String(lambdaType), NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(second.NextToken) != aws.ToString(first.NextToken) {
		t.Errorf("second NextToken %q, want the repeated %q", aws.ToString(second.NextToken), aws.ToString(first.NextToken))
	}
}

func TestTokenBoundToTypeAndRegion(t *testing.T) {
	e := cloudcontrol.New()
	for i := range 30 {
		put(t, e, "eu-west-1", lambdaType, fmt.Sprintf("fn-%03d", i), nil)
		put(t, e, "eu-west-1", "AWS::SQS::Queue", fmt.Sprintf("q-%03d", i), nil)
	}
	srv := start(t, e)
	ctx := context.Background()
	first, err := client(srv, "eu-west-1").ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, first)
	}
	for name, call := range map[string]func() error{
		"other type": func() error {
			_, err := client(srv, "eu-west-1").ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String("AWS::SQS::Queue"), NextToken: first.NextToken})
			return err
		},
		"other region": func() error {
			_, err := client(srv, "us-east-1").ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String(lambdaType), NextToken: first.NextToken})
			return err
		},
	} {
		var ire *types.InvalidRequestException
		if err := call(); !errors.As(err, &ire) {
			t.Errorf("%s: token reused, got %v, want InvalidRequestException", name, err)
		}
	}
}

func TestRegionFromCredentialScope(t *testing.T) {
	e := cloudcontrol.New()
	put(t, e, "eu-west-1", lambdaType, "in-ireland", nil)
	put(t, e, "us-east-1", lambdaType, "in-virginia", nil)
	srv := start(t, e)
	for region, want := range map[string]string{"eu-west-1": "in-ireland", "us-east-1": "in-virginia"} {
		ids, _, err := listAll(context.Background(), client(srv, region), &cc.ListResourcesInput{TypeName: aws.String(lambdaType)})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids, []string{want}) {
			t.Errorf("%s lists %v, want [%s]", region, ids, want)
		}
		if got := e.Counts(cloudcontrol.OpListResources, region).Calls; got != 1 {
			t.Errorf("%s: %d ListResources calls counted, want 1", region, got)
		}
	}
}

func TestUnsignedRequestRejected(t *testing.T) {
	srv := start(t, cloudcontrol.New())
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{"TypeName":"AWS::Lambda::Function"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "CloudApiService.ListResources")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || body["__type"] != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: HTTP %d %v, want 403 MissingAuthenticationTokenException", resp.StatusCode, body)
	}
}

func TestListPropertiesSubsetOfGet(t *testing.T) {
	e := cloudcontrol.New()
	e.SetType("AWS::S3::Bucket", cloudcontrol.TypeConfig{ListProperties: []string{"BucketName"}})
	put(t, e, "eu-west-1", "AWS::S3::Bucket", "b1", map[string]any{"BucketName": "b1", "Arn": "arn:aws:s3:::b1"})
	c := client(start(t, e), "eu-west-1")
	ctx := context.Background()
	list, err := c.ListResources(ctx, &cc.ListResourcesInput{TypeName: aws.String("AWS::S3::Bucket")})
	if err != nil {
		t.Fatal(err)
	}
	get, err := c.GetResource(ctx, &cc.GetResourceInput{TypeName: aws.String("AWS::S3::Bucket"), Identifier: aws.String("b1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(list.ResourceDescriptions[0].Properties); got != `{"BucketName":"b1"}` {
		t.Errorf("list properties %s, want only BucketName", got)
	}
	if got := aws.ToString(get.ResourceDescription.Properties); got != `{"Arn":"arn:aws:s3:::b1","BucketName":"b1"}` {
		t.Errorf("get properties %s, want every property", got)
	}
}

func TestThrottleShareIsSeeded(t *testing.T) {
	run := func() []bool {
		e := cloudcontrol.New()
		put(t, e, "eu-west-1", lambdaType, "fn", nil)
		e.SetThrottle(0.3, 42)
		c := client(start(t, e), "eu-west-1")
		var throttled []bool
		for range 200 {
			_, err := c.GetResource(context.Background(), &cc.GetResourceInput{TypeName: aws.String(lambdaType), Identifier: aws.String("fn")})
			var te *types.ThrottlingException
			if err != nil && !errors.As(err, &te) {
				t.Fatal(err)
			}
			throttled = append(throttled, err != nil)
		}
		counts := e.Counts(cloudcontrol.OpGetResource, "eu-west-1")
		if counts.Calls != 200 {
			t.Errorf("%d calls counted, want 200", counts.Calls)
		}
		n := 0
		for _, b := range throttled {
			if b {
				n++
			}
		}
		if counts.Throttled != n {
			t.Errorf("emulator counted %d throttled, client saw %d", counts.Throttled, n)
		}
		if n < 40 || n > 80 {
			t.Errorf("%d of 200 throttled, want about 60 at a share of 0.3", n)
		}
		return throttled
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Error("two sequential runs with seed 42 throttled different calls")
	}
}

func TestDemoDataset(t *testing.T) {
	e, err := cloudcontrol.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Regions(); len(got) < 2 {
		t.Errorf("demo regions %v, want at least 2", got)
	}
	if got := e.Types(); len(got) < 5 {
		t.Errorf("demo types %v, want at least 5", got)
	}
	for _, region := range e.Regions() {
		for _, r := range e.Resources(region, "AWS::ECS::Service") {
			arn, cluster, ok := strings.Cut(r.Identifier, "|")
			if !ok || arn != r.Properties["ServiceArn"] || cluster != r.Properties["Cluster"] {
				t.Errorf("ECS service identifier %q is not ServiceArn|Cluster of %v", r.Identifier, r.Properties)
			}
		}
	}
	srv := start(t, e)
	c := client(srv, "eu-west-1")
	ctx := context.Background()
	_, _, err = listAll(ctx, c, &cc.ListResourcesInput{TypeName: aws.String("AWS::EKS::Nodegroup")})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Errorf("listing demo node groups without a cluster: %v, want InvalidRequestException", err)
	}
	ids, _, err := listAll(ctx, c, &cc.ListResourcesInput{TypeName: aws.String("AWS::EKS::Nodegroup"), ResourceModel: aws.String(`{"ClusterName":"main-euw1"}`)})
	if err != nil || len(ids) != 2 {
		t.Errorf("demo node groups of main-euw1: %v, %v; want 2", ids, err)
	}
}

func TestFixtureRejectsDuplicates(t *testing.T) {
	_, err := cloudcontrol.ParseFixture([]byte(`{"resources":[
		{"region":"eu-west-1","type":"AWS::SQS::Queue","identifier":"q"},
		{"region":"eu-west-1","type":"AWS::SQS::Queue","identifier":"q"}]}`))
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate resources: %v, want a duplicate error", err)
	}
}
