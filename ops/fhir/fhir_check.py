#!/usr/bin/env python3
"""Independent FHIR R5 check of a running registry, used by the Swift tests.

Reads resources and runs searches against BASE (the server's /fhir) and validates every
resource with the `fhir.resources` R5 models (pydantic, the FHIR JSON schema of 5.0.0, written
by others); searches go through `fhirpy`, a FHIR client library, which follows the Bundles'
`next` links itself. Nothing here shares code with the server.

    fhir_check.py --base http://127.0.0.1:PORT/fhir --plan PLAN.json

PLAN: {"reads": ["metadata", "Location/P1", "PackagedProductDefinition?identifier=1234567"],
       "searches": [{"resource": "Location", "params": {"near": "50.85|4.35|5|km"}, "max": 200}]}
Prints one JSON object: per read its status, content type, resourceType, id, validity and errors
(Bundles: every entry validated too) and body; per search the ids and types fhirpy returned, the
first page's total and mode of each entry, validity and errors. Exit 0 unless the plan or the
server cannot be used (2).
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

from fhir.resources import get_fhir_model_class
from fhirpy import SyncFHIRClient


def validate(resource):
    """Errors of one resource against its R5 model ([] when valid)."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        return []
    except Exception as error:  # pydantic ValidationError, unknown resourceType, ...
        return [f'{resource.get("resourceType")}/{resource.get("id")}: {error}']


def validate_all(resource):
    errors = validate(resource)
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry", []):
            errors += validate(entry["resource"])
    return errors


def get(url):
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type"), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), json.loads(error.read() or b"null")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--plan", required=True)
    args = parser.parse_args()
    base = args.base.rstrip("/")
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    try:
        get(base + "/metadata")
    except OSError as error:
        print(f"cannot reach {base}: {error}", file=sys.stderr)
        return 2

    out = {"reads": [], "searches": []}
    for path in plan.get("reads", []):
        status, content_type, body = get(f"{base}/{path}")
        errors = validate_all(body) if isinstance(body, dict) and "resourceType" in body else ["no resource"]
        out["reads"].append({"path": path, "status": status, "contentType": content_type,
                             "resourceType": (body or {}).get("resourceType"), "id": (body or {}).get("id"),
                             "valid": not errors, "errors": errors, "body": body})

    client = SyncFHIRClient(base, extra_headers={"Accept": "application/fhir+json"})
    for search in plan.get("searches", []):
        resource_type, params, limit = search["resource"], search.get("params", {}), search.get("max", 500)
        errors, ids, types = [], [], []
        try:
            # fhirpy sends the parameter names as given (`name:contains`, `_include`), follows `next`.
            query = client.resources(resource_type).search(**{}).clone()
            for name, value in params.items():
                query.params[name] = value if isinstance(value, list) else [value]
            for found in query.limit(min(limit, 100)).fetch_all():
                data = found.serialize()
                types.append(data["resourceType"])
                ids.append(data.get("id"))
                errors += validate(data)
                if len(ids) >= limit:
                    break
        except Exception as error:
            errors.append(f"fhirpy: {error}")
        # The first page as it is sent, for `total` and the match/include modes.
        first = client.resources(resource_type).search(**{}).clone()
        for name, value in params.items():
            first.params[name] = value if isinstance(value, list) else [value]
        raw = first.fetch_raw()
        raw = raw.serialize() if hasattr(raw, "serialize") else raw
        errors += validate_all(raw)
        out["searches"].append({"resource": resource_type, "params": params, "ids": ids, "types": types,
                                "total": raw.get("total"),
                                "modes": [e.get("search", {}).get("mode") for e in raw.get("entry", [])],
                                "firstPage": [f'{e["resource"]["resourceType"]}/{e["resource"]["id"]}'
                                              for e in raw.get("entry", [])],
                                "valid": not errors, "errors": errors})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
