"""Prints, for each Describe kind, the documents Port's original AWS exporter
(port-labs/port-aws-exporter, lambda_function/aws/resources/*_handler.py)
gave its jq mappings, read with boto3 from an endpoint such as moto_server.

The calls and the document of each kind are those of the original's
handlers (facts read from that code; this script is written for the test):
the item of the Describe call, the parts the original added, and
json.loads(json.dumps(item, default=str)). The test compares them with
internal/source/describe's documents key by key.

Run: python3 boto3_documents.py ENDPOINT REGION  ->  {"<kind>": {"<id>": {...}}}
"""
import json
import sys
from collections import OrderedDict

import boto3
import yaml


def plain(obj):
    return json.loads(json.dumps(obj, default=str))


def main(endpoint, region):
    kw = dict(endpoint_url=endpoint, region_name=region,
              aws_access_key_id="AKIDMOTOTESTING", aws_secret_access_key="moto-test-secret")
    out = {}

    ec2 = boto3.client("ec2", **kw)
    docs = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for res in page["Reservations"]:
            for inst in res["Instances"]:
                one = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])
                docs[inst["InstanceId"]] = plain(one["Reservations"][0]["Instances"][0])
    out["AWS::EC2::Instance"] = docs

    elb = boto3.client("elbv2", **kw)
    docs = {}
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            obj = elb.describe_load_balancers(Names=[lb["LoadBalancerName"]])["LoadBalancers"][0]
            arn = obj["LoadBalancerArn"]
            obj["Attributes"] = elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
            obj["Listeners"] = elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]
            obj["Tags"] = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
            docs[arn] = plain(obj)
    out["AWS::ElasticLoadBalancingV2::LoadBalancer"] = docs

    acm = boto3.client("acm", **kw)
    docs = {}
    for page in acm.get_paginator("list_certificates").paginate():
        for cert in page["CertificateSummaryList"]:
            arn = cert["CertificateArn"]
            docs[arn] = plain(acm.describe_certificate(CertificateArn=arn).get("Certificate", {}))
    out["AWS::ACM::Certificate"] = docs

    cfn = boto3.client("cloudformation", **kw)
    docs = {}
    for page in cfn.get_paginator("list_stacks").paginate():
        for summary in page["StackSummaries"]:
            if summary["StackStatus"] == "DELETE_COMPLETE":
                continue
            sid = summary["StackId"]
            obj = cfn.describe_stacks(StackName=sid)["Stacks"][0]
            obj["StackResources"] = cfn.describe_stack_resources(StackName=sid)["StackResources"]
            template = cfn.get_template(StackName=sid).get("TemplateBody")
            if isinstance(template, OrderedDict):
                template = yaml.dump(json.loads(json.dumps(template)))
            obj["TemplateBody"] = template
            docs[sid] = plain(obj)
    out["AWS::CloudFormation::Stack"] = docs

    cache = boto3.client("elasticache", **kw)
    docs = {}
    for page in cache.get_paginator("describe_cache_clusters").paginate():
        for cluster in page["CacheClusters"]:
            cid = cluster["CacheClusterId"]
            obj = cache.describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]
            obj["Tags"] = cache.list_tags_for_resource(ResourceName=obj["ARN"])["TagList"]
            docs[cid] = plain(obj)
    out["AWS::ElastiCache::CacheCluster"] = docs

    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
