"""Generate demo.json, the emulator's embedded demo dataset.

Property names, primary identifiers and the identifier format come from the
CloudFormation resource provider schemas shipped with cfn-lint 1.51
(cfnlint.schema.manager.PROVIDER_SCHEMA_MANAGER, region us-east-1). Values are
invented but shaped like what Cloud Control's GetResource returns. Every
property name is checked against the schema; the identifier is the type's
primaryIdentifier values joined with "|".

Run: /root/.pyenv/versions/3.11.7/bin/python gen.py > demo.json
"""

import json
import sys

from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER as schemas

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]

# List handlers often return only the primary identifier; the exporter then
# needs GetResource. Child types need a ResourceModel naming their parent.
TYPES = {
    "AWS::S3::Bucket": {"listProperties": ["BucketName"]},
    "AWS::SQS::Queue": {"listProperties": ["QueueUrl"]},
    "AWS::DynamoDB::Table": {"listProperties": ["TableName"]},
    "AWS::ECS::Service": {"listProperties": ["ServiceArn", "Cluster"]},
    "AWS::EKS::Nodegroup": {"requiredModelProperties": ["ClusterName"], "listProperties": ["Id"]},
}


def tags(team, env):
    return [{"Key": "team", "Value": team}, {"Key": "env", "Value": env}]


def lambda_fn(region, name, runtime, team):
    return {
        "FunctionName": name,
        "Arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
        "Runtime": runtime,
        "Handler": "bootstrap" if runtime.startswith("provided") else "index.handler",
        "MemorySize": 512,
        "Timeout": 30,
        "PackageType": "Zip",
        "Architectures": ["arm64"],
        "Role": f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
        "Description": f"{name} in {region}",
        "Environment": {"Variables": {"LOG_LEVEL": "info"}},
        "EphemeralStorage": {"Size": 512},
        "TracingConfig": {"Mode": "PassThrough"},
        "LoggingConfig": {"LogFormat": "JSON", "LogGroup": f"/aws/lambda/{name}"},
        "Tags": tags(team, "production"),
    }


def bucket(region, name, team):
    return {
        "BucketName": name,
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]},
        "VersioningConfiguration": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "Tags": tags(team, "production"),
    }


def queue(region, name, team, fifo=False):
    url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}"
    props = {
        "QueueUrl": url,
        "QueueName": name,
        "Arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
        "VisibilityTimeout": 30,
        "MessageRetentionPeriod": 345600,
        "MaximumMessageSize": 262144,
        "DelaySeconds": 0,
        "ReceiveMessageWaitTimeSeconds": 20,
        "SqsManagedSseEnabled": True,
        "Tags": tags(team, "production"),
    }
    if fifo:
        props.update({"FifoQueue": True, "ContentBasedDeduplication": True})
    return props


def table(region, name, team):
    return {
        "TableName": name,
        "Arn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}",
        "StreamArn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}/stream/2026-01-15T09:30:00.000",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "TableClass": "STANDARD",
        "Tags": tags(team, "production"),
    }


def ecs_cluster(region, name, team):
    return {
        "ClusterName": name,
        "Arn": f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{name}",
        "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
        "Tags": tags(team, "production"),
    }


def ecs_service(region, cluster, name, team, desired):
    cluster_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cluster}"
    return {
        "ServiceArn": f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{name}",
        "Cluster": cluster_arn,
        "ServiceName": name,
        "Name": name,
        "DesiredCount": desired,
        "LaunchType": "FARGATE",
        "PlatformVersion": "LATEST",
        "SchedulingStrategy": "REPLICA",
        "TaskDefinition": f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{name}:7",
        "DeploymentConfiguration": {"MaximumPercent": 200, "MinimumHealthyPercent": 100,
                                    "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
        "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "DISABLED",
                                                         "Subnets": ["subnet-0a1b2c3d4e5f60718"],
                                                         "SecurityGroups": ["sg-0123456789abcdef0"]}},
        "EnableExecuteCommand": False,
        "PropagateTags": "SERVICE",
        "Tags": tags(team, "production"),
    }


def eks_cluster(region, name, team):
    return {
        "Name": name,
        "Arn": f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}",
        "Version": "1.33",
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-cluster",
        "Endpoint": f"https://0123456789ABCDEF.gr7.{region}.eks.amazonaws.com",
        "ClusterSecurityGroupId": "sg-0fedcba9876543210",
        "ResourcesVpcConfig": {"SubnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"],
                               "EndpointPublicAccess": False, "EndpointPrivateAccess": True},
        "KubernetesNetworkConfig": {"IpFamily": "ipv4", "ServiceIpv4Cidr": "172.20.0.0/16"},
        "AccessConfig": {"AuthenticationMode": "API"},
        "Tags": tags(team, "production"),
    }


def nodegroup(region, cluster, name, team):
    return {
        "Id": f"{cluster}/{name}",
        "ClusterName": cluster,
        "NodegroupName": name,
        "Arn": f"arn:aws:eks:{region}:{ACCOUNT}:nodegroup/{cluster}/{name}/8ac1e2f4-0000-4000-8000-000000000001",
        "AmiType": "AL2023_ARM_64_STANDARD",
        "CapacityType": "ON_DEMAND",
        "InstanceTypes": ["m7g.large"],
        "DiskSize": 50,
        "NodeRole": f"arn:aws:iam::{ACCOUNT}:role/{cluster}-nodes",
        "ScalingConfig": {"MinSize": 2, "DesiredSize": 3, "MaxSize": 6},
        "Subnets": ["subnet-0a1b2c3d4e5f60718"],
        "Labels": {"workload": name},
        "Version": "1.33",
        "Tags": {"team": team, "env": "production"},
    }


def build():
    out = []

    def add(region, type_name, props):
        schema = schemas.get_resource_schema("us-east-1", type_name).schema
        unknown = set(props) - set(schema["properties"])
        if unknown:
            sys.exit(f"{type_name}: properties not in the schema: {sorted(unknown)}")
        ident = "|".join(str(props[p.removeprefix("/properties/")]) for p in schema["primaryIdentifier"])
        out.append({"region": region, "type": type_name, "identifier": ident, "properties": props})

    for i, region in enumerate(REGIONS):
        short = region.split("-")[0] + region.split("-")[1][0] + region[-1]  # us-east-1 → use1
        add(region, "AWS::Lambda::Function", lambda_fn(region, f"orders-api-{short}", "nodejs22.x", "checkout"))
        add(region, "AWS::Lambda::Function", lambda_fn(region, f"invoice-renderer-{short}", "python3.13", "billing"))
        if i < 2:
            add(region, "AWS::Lambda::Function", lambda_fn(region, f"image-resizer-{short}", "provided.al2023", "media"))
        add(region, "AWS::S3::Bucket", bucket(region, f"acme-assets-{region}", "media"))
        add(region, "AWS::S3::Bucket", bucket(region, f"acme-invoices-{region}", "billing"))
        add(region, "AWS::SQS::Queue", queue(region, "orders-events", "checkout"))
        add(region, "AWS::SQS::Queue", queue(region, "invoice-jobs.fifo", "billing", fifo=True))
        add(region, "AWS::DynamoDB::Table", table(region, "orders", "checkout"))
        if i < 2:
            add(region, "AWS::DynamoDB::Table", table(region, "invoices", "billing"))
            add(region, "AWS::ECS::Cluster", ecs_cluster(region, "platform", "platform"))
            add(region, "AWS::ECS::Service", ecs_service(region, "platform", "checkout-web", "checkout", 3))
            add(region, "AWS::ECS::Service", ecs_service(region, "platform", "billing-worker", "billing", 2))
            add(region, "AWS::EKS::Cluster", eks_cluster(region, f"main-{short}", "platform"))
            add(region, "AWS::EKS::Nodegroup", nodegroup(region, f"main-{short}", "general", "platform"))
            add(region, "AWS::EKS::Nodegroup", nodegroup(region, f"main-{short}", "batch", "data"))
    return out


if __name__ == "__main__":
    fixture = {
        "source": "generated by demodata/gen.py; property names and identifiers from the CloudFormation "
                  "resource schemas in cfn-lint 1.51; values invented",
        "accountId": ACCOUNT,
        "types": TYPES,
        "resources": build(),
    }
    json.dump(fixture, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
