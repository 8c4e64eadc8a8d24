// Command demo runs the exporter's real sync end to end on the in-repo
// testbed: go run ./cmd/demo. It is a program of its own so that the
// product binary, cmd/port-aws-exporter, links no test harness.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/exporter"
	"github.com/port-labs/port-aws-exporter/internal/port"
	"github.com/port-labs/port-aws-exporter/internal/rules/library"
	"github.com/port-labs/port-aws-exporter/internal/testbed/cloudcontrol"
	"github.com/port-labs/port-aws-exporter/internal/testbed/portapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newDemoCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newDemoCommand() *cobra.Command {
	root := cli.NewRoot("demo", "Run the real sync end to end on the embedded testbed (Cloud Control emulator and Port double)", "")
	root.Long = `demo starts the in-repo Cloud Control emulator (loaded with a small account: Lambda functions,
S3 buckets, SQS queues, DynamoDB tables, ECS and EKS clusters in three regions) and the Port API
double on 127.0.0.1, writes a config.json and blueprints from the rule library, and runs the real
sync through the AWS SDK and the Port client, with the exporter's own wiring (internal/exporter).
Then it deletes a function and a bucket in the emulator and syncs again, to show stale deletion.
It needs no AWS or Port account.`
	var keep, testbed bool
	var dir string
	var latency time.Duration
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if testbed {
			return runTestbed(cmd, dir, latency)
		}
		return runDemo(cmd, keep)
	}
	root.Flags().BoolVar(&keep, "keep-files", false, "keep the generated config.json and blueprints.json and print where they are")
	root.Flags().BoolVar(&testbed, "testbed", false, "only start the testbed, write config.json and blueprints.json for every kind in every region, "+
		"print the environment that points port-aws-exporter at it, and wait for Ctrl-C: try the real CLI with no AWS or Port account")
	root.Flags().DurationVar(&latency, "latency", 0, "with --testbed: how long each AWS call takes (e.g. 300ms, to watch a sync's progress)")
	root.Flags().StringVar(&dir, "dir", "", "with --testbed: where to write config.json and blueprints.json (default: a new temporary directory, kept)")
	return root
}

// runTestbed serves the demo's account and a Port double until the context
// ends, for trying the product binary itself: `blueprints apply`, `sync`
// with its progress, `--dry-run`, `--summary json`. Every kind is configured
// in every region of the dataset (a region without resources is a shard
// that lists nothing), so that a sync has enough shards to watch.
func runTestbed(cmd *cobra.Command, dir string, latency time.Duration) error {
	out := cmd.OutOrStdout()
	emu, aws, portDouble, err := startTestbed(latency)
	if err != nil {
		return err
	}
	defer aws.Close()
	defer portDouble.Close()

	kinds, _, err := demoKinds(emu)
	if err != nil {
		return err
	}
	everywhere := map[string][]string{}
	for _, k := range kinds {
		everywhere[k.Type] = emu.Regions()
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "port-aws-exporter-testbed-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	configPath, err := writeDemoFiles(dir, kinds, everywhere)
	if err != nil {
		return err
	}
	blueprintsPath := filepath.Join(dir, "blueprints.json")
	fmt.Fprintf(out, "# Testbed up: Cloud Control emulator (account %s, regions %s; it also answers STS GetCallerIdentity\n"+
		"# and S3 GetBucketLocation) and a Port double, on 127.0.0.1. %d kinds × %d regions = %d shards.\n"+
		"# The Port credentials below are the double's own, valid only against it. In another shell:\n",
		emu.AccountID(), strings.Join(emu.Regions(), ", "), len(kinds), len(emu.Regions()), len(kinds)*len(emu.Regions()))
	fmt.Fprintf(out, "export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDDEMO AWS_SECRET_ACCESS_KEY=demo-secret\n", aws.URL)
	fmt.Fprintf(out, "export PORT_API_URL=%s PORT_CLIENT_ID=%s PORT_CLIENT_SECRET=%s\n", portDouble.URL(), portDouble.ClientID(), portDouble.ClientSecret())
	fmt.Fprintf(out, "port-aws-exporter blueprints apply --file %s\n", blueprintsPath)
	fmt.Fprintf(out, "port-aws-exporter sync --config %s\n", configPath)
	fmt.Fprintln(out, "# Ctrl-C stops the testbed.")
	<-cmd.Context().Done()
	return nil
}

func runDemo(cmd *cobra.Command, keepFiles bool) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	logger := cli.NewLogger(cmd, io.Discard)
	if cli.LogLevel(cmd) == "debug" {
		logger = cli.NewLogger(cmd, os.Stderr)
	}

	emu, aws, portDouble, err := startTestbed(0)
	if err != nil {
		return err
	}
	defer aws.Close()
	defer portDouble.Close()

	kinds, regions, err := demoKinds(emu)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "port-aws-exporter-demo-")
	if err != nil {
		return err
	}
	if !keepFiles {
		defer os.RemoveAll(dir)
	}
	configPath, err := writeDemoFiles(dir, kinds, regions)
	if err != nil {
		return err
	}

	portCfg := port.Config{BaseURL: portDouble.URL(), ClientID: portDouble.ClientID(), ClientSecret: portDouble.ClientSecret()}
	// The sync command's defaults, paced for a local testbed.
	settings := cli.SyncDefaults()
	settings.AWSRequestsPerSecond, settings.PortRequestsPerSecond = 50, 100
	rt, err := exporter.Build(ctx, exporter.Options{
		ConfigLocation: configPath,
		NeedPort:       true,
		OneShot:        true,
		AccountID:      emu.AccountID(),
		Logger:         logger,
		Port:           portCfg,
		Sync:           settings,
		AWSOptions:     demoAWSOptions(aws.URL),
	})
	if err != nil {
		return err
	}
	if err := createBlueprints(ctx, rt.Port); err != nil {
		return err
	}

	fmt.Fprintf(out, "Testbed: Cloud Control emulator at %s (account %s, regions %s), Port double at %s\n",
		aws.URL, emu.AccountID(), strings.Join(sortedKeys(regions), ", "), portDouble.URL())
	fmt.Fprintf(out, "Config: %d kinds from the rule library", len(kinds))
	if keepFiles {
		fmt.Fprintf(out, ", written to %s", dir)
	}
	fmt.Fprint(out, "\n\n== First sync\n")
	report, err := rt.Controller.Run(ctx)
	if err != nil {
		return err
	}
	cli.PrintSummary(out, report, false)
	fmt.Fprint(out, "\n== What landed in the catalog\n")
	printCatalog(out, portDouble, kinds)

	// Change AWS behind the exporter's back, then sync again.
	gone := []struct{ region, kind string }{{"eu-west-1", "AWS::Lambda::Function"}, {"us-east-1", "AWS::S3::Bucket"}}
	fmt.Fprint(out, "\n== AWS changes: ")
	var changes []string
	for _, g := range gone {
		res := emu.Resources(g.region, g.kind)
		if len(res) == 0 {
			continue
		}
		emu.Delete(g.region, g.kind, res[0].Identifier)
		changes = append(changes, fmt.Sprintf("deleted %s %s in %s", g.kind, res[0].Identifier, g.region))
	}
	fmt.Fprintln(out, strings.Join(changes, "; "))
	fmt.Fprint(out, "\n== Second sync (stale entities deleted)\n")
	report, err = rt.Controller.Run(ctx)
	if err != nil {
		return err
	}
	cli.PrintSummary(out, report, false)
	if !report.OK() {
		return controller.ErrFailed
	}
	total := 0
	for _, k := range kinds {
		total += len(portDouble.Entities(k.Blueprint.Identifier))
	}
	fmt.Fprintf(out, "\nCatalog now holds %d entities in %d blueprints.\n", total, len(kinds))
	return nil
}

// startTestbed starts the Cloud Control emulator with the demo's account
// (each call answering after latency) and the Port double, on 127.0.0.1.
func startTestbed(latency time.Duration) (*cloudcontrol.Emulator, *cloudcontrol.Server, *portapi.Server, error) {
	emu, err := cloudcontrol.NewDemo()
	if err != nil {
		return nil, nil, nil, err
	}
	emu.SetLatency(latency)
	aws, err := emu.Listen("127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("start the Cloud Control emulator: %w", err)
	}
	return emu, aws, portapi.New(portapi.Options{}), nil
}

// demoKinds are the emulator's types that the rule library knows, with the
// regions each has resources in.
func demoKinds(emu *cloudcontrol.Emulator) ([]library.Kind, map[string][]string, error) {
	all, err := library.All()
	if err != nil {
		return nil, nil, err
	}
	regions := map[string][]string{}
	var kinds []library.Kind
	for _, k := range all {
		for _, region := range emu.Regions() {
			if len(emu.Resources(region, k.Type)) > 0 {
				regions[k.Type] = append(regions[k.Type], region)
			}
		}
		if len(regions[k.Type]) > 0 {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return nil, nil, fmt.Errorf("the demo dataset has no kind the rule library knows")
	}
	return kinds, regions, nil
}

// writeDemoFiles writes the library's config for the kinds, restricted to the
// regions that have resources, and the blueprints next to it.
func writeDemoFiles(dir string, kinds []library.Kind, regions map[string][]string) (string, error) {
	bundle := library.NewBundle(kinds)
	raw, err := bundle.ConfigJSON()
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	resources, _ := doc["resources"].([]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		kind, _ := res["kind"].(string)
		sel, _ := res["selector"].(map[string]any)
		if sel == nil {
			sel = map[string]any{}
			res["selector"] = sel
		}
		sel["aws"] = map[string]any{"regions": regions[kind]}
	}
	configJSON, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, configJSON, 0o600); err != nil {
		return "", err
	}
	bps, err := bundle.BlueprintsJSON()
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(filepath.Join(dir, "blueprints.json"), bps, 0o600)
}

// createBlueprints creates the blueprints of every library kind, relation
// targets first, as Port requires a relation's target to exist.
func createBlueprints(ctx context.Context, client *port.Client) error {
	all, err := library.All()
	if err != nil {
		return err
	}
	created := map[string]bool{}
	for pending := all; len(pending) > 0; {
		var next []library.Kind
		for _, k := range pending {
			ready := true
			for _, rel := range k.Blueprint.Relations {
				if rel.Target != k.Blueprint.Identifier && !created[rel.Target] {
					ready = false
				}
			}
			if !ready {
				next = append(next, k)
				continue
			}
			body, err := json.Marshal(k.Blueprint)
			if err != nil {
				return err
			}
			if _, err := client.CreateBlueprint(ctx, body); err != nil {
				return fmt.Errorf("create blueprint %s: %w", k.Blueprint.Identifier, err)
			}
			created[k.Blueprint.Identifier] = true
		}
		if len(next) == len(pending) {
			return fmt.Errorf("blueprint relations form a cycle or name a missing blueprint: %s", next[0].Blueprint.Identifier)
		}
		pending = next
	}
	return nil
}

func demoAWSOptions(endpoint string) []func(*awsconfig.LoadOptions) error {
	return []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return awscreds.NewStaticCredentialsProvider("AKIDDEMO", "demo-secret", "").Retrieve(context.Background())
		})),
	}
}

// printCatalog shows each blueprint's entities as the Port double holds them.
func printCatalog(w io.Writer, double *portapi.Server, kinds []library.Kind) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLUEPRINT\tIDENTIFIER\tTITLE\tPROPERTIES\tDATASOURCE")
	for _, k := range kinds {
		ents := double.Entities(k.Blueprint.Identifier)
		sort.Slice(ents, func(i, j int) bool { return ents[i].Identifier < ents[j].Identifier })
		for _, e := range ents {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d set\t%s\n", k.Blueprint.Identifier, e.Identifier, e.Title, len(e.Properties), e.Datasource)
		}
	}
	tw.Flush()
}

func sortedKeys(m map[string][]string) []string {
	set := map[string]bool{}
	for _, regions := range m {
		for _, r := range regions {
			set[r] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
