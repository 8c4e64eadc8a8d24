package cloudcontrol

import (
	_ "embed"
	"fmt"
)

// demoFixture is a handful of kinds in three regions: Lambda functions, S3
// buckets, SQS queues, DynamoDB tables, ECS clusters and services (compound
// identifiers "ServiceArn|Cluster"), EKS clusters and node groups (a child
// type that needs ResourceModel {"ClusterName": ...}). Property names and
// identifiers follow the CloudFormation schemas in cfn-lint 1.51; see
// demodata/gen.py, which generated it.
//
//go:generate sh -c "/root/.pyenv/versions/3.11.7/bin/python demodata/gen.py > demodata/demo.json"
//go:embed demodata/demo.json
var demoFixture []byte

// DemoFixture returns a fresh copy of the embedded demo dataset.
func DemoFixture() (*Fixture, error) {
	f, err := ParseFixture(demoFixture)
	if err != nil {
		return nil, fmt.Errorf("embedded demo dataset: %w", err)
	}
	return f, nil
}

// NewDemo returns an emulator loaded with the embedded demo dataset.
func NewDemo() (*Emulator, error) {
	f, err := DemoFixture()
	if err != nil {
		return nil, err
	}
	return NewFromFixture(f)
}
