#!/usr/bin/env python3
"""Writes an OpenAPI 3.1 description of the FHIR routes, derived from the running server's own
CapabilityStatement (so it lists exactly what /fhir/metadata declares), for schemathesis to fuzz.

Usage: fhir_openapi.py BASE_URL OUT.json
"""
import json
import sys
import urllib.request

base, out = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(base + "/fhir/metadata") as answer:
    capability = json.load(answer)

fhir_json = {"application/fhir+json": {"schema": {"type": "object", "required": ["resourceType"]}}}
responses = {"200": {"description": "a resource or Bundle", "content": fhir_json},
             "default": {"description": "an OperationOutcome", "content": fhir_json}}
types = {"string": {"type": "string"}, "token": {"type": "string"}, "reference": {"type": "string"},
         "date": {"type": "string"}, "number": {"type": "number"}, "quantity": {"type": "string"},
         "special": {"type": "string"}, "uri": {"type": "string"}}
paths = {"/fhir/metadata": {"get": {"operationId": "metadata", "responses": responses}}}
for resource in capability["rest"][0]["resource"]:
    kind = resource["type"]
    parameters = [{"name": p["name"], "in": "query", "required": False,
                   "schema": types.get(p.get("type"), {"type": "string"})}
                  for p in resource.get("searchParam", [])]
    parameters += [{"name": "_count", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
                   {"name": "_offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000}}]
    paths[f"/fhir/{kind}"] = {"get": {"operationId": f"search{kind}", "parameters": parameters,
                                      "responses": responses}}
    paths[f"/fhir/{kind}/{{id}}"] = {"get": {"operationId": f"read{kind}", "responses": responses, "parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]}}
    for operation in resource.get("operation", []):
        name = operation["name"].lstrip("$")
        paths[f"/fhir/{kind}/${name}"] = {"get": {"operationId": f"{name}{kind}", "responses": responses,
            "parameters": [{"name": "system", "in": "query", "schema": {"type": "string"}},
                           {"name": "code", "in": "query", "schema": {"type": "string"}}]}}

document = {"openapi": "3.1.0", "info": {"title": "registry FHIR R5 (from /fhir/metadata)", "version": "1"},
            "servers": [{"url": base}], "paths": paths}
with open(out, "w") as handle:
    json.dump(document, handle, indent=1)
print(f"{len(paths)} FHIR paths described in {out}")
