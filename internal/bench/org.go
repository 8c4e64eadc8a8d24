package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/moto"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

// The organization scenario's member role: what every member account's
// role is called and the external ID its trust policy requires.
const (
	OrgMemberRole = "port-bench-read"
	OrgExternalID = "port-bench-ext"
)

// orgOUs are the organization's units: two nested under workloads, one
// beside it; members are dealt over the four in turn (root members none).
var orgOUs = []moto.OUSpec{{Name: "workloads"}, {Name: "prod", Parent: "workloads"}, {Name: "dev", Parent: "workloads"}, {Name: "sandbox"}}

// OrgTestbed is the AWS and Port side of an organization scenario: moto
// (Organizations with the member accounts, STS behind the trust gate that
// enforces each member role's external ID, SQS with the events queue and
// its dead-letter queue), the Cloud Control emulator partitioned by the
// signing key's account behind a limiter per account-region, all on one
// endpoint as AWS's services share credentials; and the Port double.
type OrgTestbed struct {
	Scenario Scenario
	Moto     *moto.Server
	Org      *moto.Org
	Trust    *moto.Trust
	CC       *cloudcontrol.Accounts
	Limiter  *AccountRegionLimiter
	Port     *portapi.Server
	// AccountIDs are the member accounts, sorted.
	AccountIDs              []string
	QueueURL, DeadLetterURL string
	// Setup is how long building the testbed took (moto's organization).
	Setup time.Duration

	url     string
	awsHTTP *http.Server
	awsDone chan struct{}
}

// StartOrgTestbed builds the organization of sc (sc.Accounts members) in
// a moto_server of its own and loads every account's resources. Close
// stops everything.
func StartOrgTestbed(ctx context.Context, sc Scenario) (tb *OrgTestbed, err error) {
	if sc.Accounts <= 0 || sc.Resources() == 0 {
		return nil, errNoResources
	}
	start := time.Now()
	m, err := moto.Launch()
	if err != nil {
		return nil, fmt.Errorf("%w (set %s or put it on PATH): %w", errNoMoto, moto.EnvBinary, err)
	}
	tb = &OrgTestbed{Scenario: sc, Moto: m, awsDone: make(chan struct{})}
	defer func() {
		if err != nil {
			tb.Close()
		}
	}()
	admin := m.AWSConfig(ctx, sc.Regions[0])
	spec := moto.OrgSpec{OUs: orgOUs}
	for i := range sc.Accounts {
		spec.Accounts = append(spec.Accounts, moto.AccountSpec{Name: fmt.Sprintf("member-%03d", i), OU: orgOUs[i%len(orgOUs)].Name})
	}
	if tb.Org, err = moto.CreateOrganization(ctx, admin, spec); err != nil {
		return tb, err
	}
	tb.Trust = m.NewTrust()
	resolver := &keyAccounts{resolve: m.AccountOf, known: map[string]string{}}
	tb.CC = cloudcontrol.NewAccounts(resolver.Resolve, tb.Trust)
	for _, id := range tb.Org.Accounts {
		tb.AccountIDs = append(tb.AccountIDs, id)
	}
	sort.Strings(tb.AccountIDs)
	for _, account := range tb.AccountIDs {
		tb.Trust.SetRole(OrgRoleARN(account), moto.RoleTrust{ExternalID: OrgExternalID})
		emu := tb.CC.Account(account)
		emu.SetPageSize(sc.PageSize)
		emu.SetLatency(sc.AWSLatency)
		for _, region := range sc.Regions {
			for _, kind := range sc.Kinds {
				for i := range sc.PerShard {
					id, props := OrgDocument(kind, region, account, i)
					if err := emu.Put(region, kind, id, props); err != nil {
						return tb, fmt.Errorf("load %s %s of %s into the emulator: %w", kind, id, account, err)
					}
				}
			}
		}
	}
	if tb.QueueURL, tb.DeadLetterURL, err = createOrgQueues(ctx, sqs.NewFromConfig(admin)); err != nil {
		return tb, err
	}
	tb.Limiter = NewAccountRegionLimiter(tb.CC, sc.AWSRate, int(sc.AWSRate), resolver.Resolve)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return tb, fmt.Errorf("listen for the organization's AWS endpoint: %w", err)
	}
	tb.url = "http://" + l.Addr().String()
	tb.awsHTTP = &http.Server{Handler: tb.Limiter, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(tb.awsDone)
		_ = tb.awsHTTP.Serve(l)
	}()
	tb.Port = portapi.New(portapi.Options{
		Latency:   sc.PortLatency,
		RateLimit: portapi.RateLimit{Limit: sc.PortRate, Period: time.Second},
	})
	for _, kind := range sc.Kinds {
		if err := tb.Port.AddBlueprint(BlueprintJSON(kind)); err != nil {
			return tb, fmt.Errorf("create the %s blueprint in the Port double: %w", Blueprint(kind), err)
		}
	}
	tb.Setup = time.Since(start)
	return tb, nil
}

// createOrgQueues makes the events queue (visibility as the deployed
// stack's, 900 s, so a slow batch is not redelivered while it runs) and its
// dead-letter queue.
func createOrgQueues(ctx context.Context, c *sqs.Client) (queueURL, dlqURL string, err error) {
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("org-bench-dlq")})
	if err != nil {
		return "", "", fmt.Errorf("create the dead-letter queue: %w", err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", fmt.Errorf("read the dead-letter queue's ARN: %w", err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`, attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("org-bench-events"), Attributes: map[string]string{
		"VisibilityTimeout": "900", "RedrivePolicy": redrive}})
	if err != nil {
		return "", "", fmt.Errorf("create the events queue: %w", err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}

// errNoMoto: the organization scenario needs moto_server.
var errNoMoto = errors.New("the org scenario needs moto_server")

// OrgRoleARN is the member role of an account.
func OrgRoleARN(account string) string { return "arn:aws:iam::" + account + ":role/" + OrgMemberRole }

// OrgDocument is Document in a member account: its ARNs name the account,
// and the ARN is the entity's identifier (OrgConfigJSON), so that the same
// name in two accounts makes two entities.
func OrgDocument(kind, region, account string, i int) (string, map[string]any) {
	id, props := Document(kind, region, i)
	for _, key := range []string{"Arn", "Role"} {
		props[key] = strings.Replace(props[key].(string), ":"+AccountID+":", ":"+account+":", 1)
	}
	return id, props
}

// OrgConfigJSON is ConfigJSON with entities identified by ARN and an aws
// block that reads the organization's member accounts (not the management
// account, which has no resources here) through the member role.
func OrgConfigJSON(sc Scenario) []byte {
	var cfg map[string]any
	if err := json.Unmarshal(ConfigJSON(sc), &cfg); err != nil {
		panic(fmt.Sprintf("decode the bench config: %v", err)) // ConfigJSON's own output
	}
	for _, r := range cfg["resources"].([]any) {
		entity := r.(map[string]any)["port"].(map[string]any)["entity"].(map[string]any)
		for _, m := range entity["mappings"].([]any) {
			m.(map[string]any)["identifier"] = ".Arn"
		}
	}
	cfg["aws"] = map[string]any{
		"organization":        map[string]any{"member_role_name": OrgMemberRole, "external_id": OrgExternalID},
		"include_own_account": false,
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("encode the bench config: %v", err))
	}
	return out
}

// Endpoints returns what the exporter needs: one AWS endpoint for every
// service, the management account's (moto's default) credentials as the
// base, the queues.
func (tb *OrgTestbed) Endpoints() Endpoints {
	return Endpoints{
		AWSURL: tb.url, PortURL: tb.Port.URL(),
		ClientID: tb.Port.ClientID(), ClientSecret: tb.Port.ClientSecret(),
		AccountID: moto.AccountID, Region: tb.Scenario.Regions[0],
		Config:  OrgConfigJSON(tb.Scenario),
		AWSRate: tb.Scenario.AWSRate, PortRate: float64(tb.Scenario.PortRate),
		QueueURL: tb.QueueURL, DeadLetterURL: tb.DeadLetterURL,
	}
}

// Close stops the endpoint, the Port double and moto.
func (tb *OrgTestbed) Close() {
	if tb.awsHTTP != nil {
		_ = tb.awsHTTP.Close()
		<-tb.awsDone
	}
	if tb.Port != nil {
		tb.Port.Close()
	}
	tb.Moto.Close()
}

// Traffic reads the counters of both sides: Cloud Control calls of every
// account (those the limiter throttled included).
func (tb *OrgTestbed) Traffic() Traffic {
	t := Traffic{AWSRequests: len(tb.CC.Calls()) + tb.Limiter.Throttled(), AWSThrottled: tb.Limiter.Throttled()}
	portTraffic(tb.Port, &t)
	return t
}

// OrgResult is the organization scenario's figures.
type OrgResult struct {
	Scenario  string `json:"scenario"`
	Accounts  int    `json:"accounts"`
	Shards    int    `json:"shards"`
	Resources int    `json:"resources"`
	// Wall runs from the scheduled invocation to the last shard message
	// settled; Bound is OrgBound; Ratio Wall/Bound.
	Wall  time.Duration `json:"wall"`
	Bound Bound         `json:"bound"`
	Ratio float64       `json:"ratio"`
	Traffic
	// AssumeRole counts the STS AssumeRole calls at the trust gate
	// (AssumeRoleDenied of them refused); the limit for one sync is
	// accounts × sessions, a session being one container's credentials cache.
	AssumeRole       int `json:"assumeRole"`
	AssumeRoleDenied int `json:"assumeRoleDenied"`
	// BusiestAccountRegion is the most Cloud Control calls one
	// account-region's bucket admitted.
	BusiestAccountRegion int `json:"busiestAccountRegion"`
	// CallsPerAccountRegion is the fewest calls one account-region needs.
	CallsPerAccountRegion int `json:"callsPerAccountRegion"`
	// Entities is what Port holds at the end (all blueprints).
	Entities int          `json:"entities"`
	Setup    Duration     `json:"setup"`
	Run      OrgLambdaRun `json:"run"`
}

// Duration prints as Go's duration in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// OrgExporter runs the exporter's side of the organization scenario
// against the testbed at ep.
type OrgExporter func(ctx context.Context, ep Endpoints) (OrgLambdaRun, error)

// RunOrg starts the organization of sc, has exp sync it, and measures.
func RunOrg(ctx context.Context, sc Scenario, exp OrgExporter, sample Sampler) (OrgResult, error) {
	tb, err := StartOrgTestbed(ctx, sc)
	if err != nil {
		return OrgResult{}, err
	}
	defer tb.Close()
	defer sample.every(time.Second, tb.Traffic)()
	run, err := exp(ctx, tb.Endpoints())
	res := OrgResult{
		Scenario: sc.Name, Accounts: len(tb.AccountIDs), Shards: sc.AllShards(), Resources: sc.Resources(),
		Wall: run.Wall, Bound: OrgBound(sc), Traffic: tb.Traffic(), Setup: Duration(tb.Setup), Run: run,
	}
	if err != nil {
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	res.Ratio = res.Wall.Seconds() / res.Bound.Total.Seconds()
	res.CallsPerAccountRegion = res.Bound.AWSRequests / max(1, sc.Accounts*len(sc.Regions))
	for _, c := range tb.Trust.Calls() {
		res.AssumeRole++
		if c.Denied {
			res.AssumeRoleDenied++
		}
	}
	for _, n := range tb.Limiter.Admitted() {
		res.BusiestAccountRegion = max(res.BusiestAccountRegion, n)
	}
	for _, kind := range sc.Kinds {
		res.Entities += len(tb.Port.Entities(Blueprint(kind)))
	}
	if run.Failed > 0 || res.Entities != sc.Resources() || run.Shards != sc.AllShards() {
		return res, fmt.Errorf("scenario %s: %d of %d shards sent, %d failed, %d of %d entities in Port: %v",
			sc.Name, run.Shards, sc.AllShards(), run.Failed, res.Entities, sc.Resources(), run.Errors)
	}
	return res, nil
}
