"""Writes documents.json: for every Cloud Control kind of Port's published
configs (internal/config/testdata/published), two resources as GetResource
would return them, with every property of the kind's CloudFormation resource
schema that GetResource returns (write-only ones left out) filled with a
value of the schema's type. The schemas are cfn-lint's (1.51.0, us-east-1),
the authority aws-facts.md names for property shapes. Run with the Python
that has cfn-lint:

    $(pyenv root)/versions/3.11.7/bin/python3 gen_documents.py > documents.json
"""
import glob
import json
import os
import sys

from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER as manager

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLISHED = os.path.join(HERE, "..", "..", "..", "config", "testdata", "published")
# Read by the Describe reader for a config.json (internal/source/describe),
# with their own test against moto.
DESCRIBE = {"AWS::EC2::Instance", "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::ElastiCache::CacheCluster", "AWS::ACM::Certificate", "AWS::CloudFormation::Stack"}
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def kinds():
    out = set()
    for path in glob.glob(os.path.join(PUBLISHED, "*.json")):
        with open(path) as f:
            for r in json.load(f).get("resources", []):
                if r["kind"] not in DESCRIBE:
                    out.add(r["kind"])
    return sorted(out)


def resolve(schema, node):
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = schema["definitions"][name]
    for key in ("oneOf", "anyOf"):
        if key in node and "type" not in node and "properties" not in node:
            return resolve(schema, node[key][0])
    return node


def sample(schema, node, name, n, depth):
    node = resolve(schema, node)
    t = node.get("type")
    if isinstance(t, list):
        t = t[0]
    if t is None:
        t = "object" if "properties" in node else "string"
    if "enum" in node:
        return node["enum"][0]
    if t == "string":
        if name.endswith("Arn") or name == "Arn":
            return "arn:aws:svc:%s:%s:%s/%s-%d" % (REGION, ACCOUNT, name.lower(), name.lower(), n)
        return "%s-%d" % (name, n)
    if t == "integer":
        return node.get("minimum", 0) + n + 1
    if t == "number":
        return n + 1.5
    if t == "boolean":
        return True
    if t == "array":
        if depth > 4:
            return []
        return [sample(schema, node.get("items", {"type": "string"}), name, n, depth + 1)]
    if t == "object":
        if depth > 4:
            return {}
        props = node.get("properties")
        if not props:
            return {"%sKey" % name: "%s-value-%d" % (name, n)}
        return {k: sample(schema, v, k, n, depth + 1) for k, v in sorted(props.items())}
    return "%s-%d" % (name, n)


def document(kind, n):
    schema = manager.get_resource_schema("us-east-1", kind).schema
    write_only = {p.split("/")[2] for p in schema.get("writeOnlyProperties", []) if p.count("/") == 2}
    doc = {}
    for name, node in sorted(schema["properties"].items()):
        if name in write_only:
            continue
        doc[name] = sample(schema, node, name, n, 0)
    if "DefinitionString" in doc:  # a state machine's definition is JSON text
        doc["DefinitionString"] = json.dumps({"StartAt": "Step%d" % n, "States": {"Step%d" % n: {"Type": "Pass", "End": True}}})
    if "Tags" in doc and isinstance(doc["Tags"], list):
        doc["Tags"] = [{"Key": "team", "Value": "team-%d" % n}, {"Key": "env", "Value": "prod"}]
    ids = [p.split("/")[2] for p in schema["primaryIdentifier"]]
    return doc, ids


def main():
    out = {"source": "cfn-lint 1.51.0 resource schemas (us-east-1), by gen_documents.py", "region": REGION,
           "account": ACCOUNT, "kinds": {}}
    for kind in kinds():
        docs = []
        for n in (1, 2):
            doc, ids = document(kind, n)
            docs.append({"identifier": "|".join(str(doc[i]) for i in ids), "properties": doc})
        out["kinds"][kind] = docs
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
