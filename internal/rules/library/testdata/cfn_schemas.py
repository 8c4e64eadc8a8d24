"""Derives cfn-schemas.json, the Cloud Control facts the kinds catalog is checked against.

Source: the CloudFormation resource provider schemas shipped inside cfn-lint (us-east-1).
Run: python3 cfn_schemas.py ../kinds > cfn-schemas.json   (with cfn-lint installed)
Only primaryIdentifier, the top-level property names and JSON types, the
top-level writeOnlyProperties (which GetResource never returns), and whether
the type is taggable and in which property are kept.
"""
import json
import pathlib
import sys

from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

out = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    type_name = next(line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith("type:"))
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
    props = {}
    definitions = schema.get("definitions", {})
    for name, prop in schema.get("properties", {}).items():
        if "type" not in prop and prop.get("$ref", "").startswith("#/definitions/"):
            prop = definitions.get(prop["$ref"].removeprefix("#/definitions/"), prop)
        t = prop.get("type", "any")
        props[name] = t if isinstance(t, str) else sorted(t)
    write_only = sorted(p.removeprefix("/properties/") for p in schema.get("writeOnlyProperties", [])
                        if p.count("/") == 2)
    tagging = schema.get("tagging", {})
    out[type_name] = {
        "primaryIdentifier": [p.removeprefix("/properties/") for p in schema["primaryIdentifier"]],
        "properties": props,
        "writeOnlyProperties": write_only,
        "taggable": bool(tagging.get("taggable", False)),
        "tagProperty": tagging.get("tagProperty", "").removeprefix("/properties/") if tagging.get("taggable") else "",
    }
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
