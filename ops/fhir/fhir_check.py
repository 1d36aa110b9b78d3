#!/usr/bin/env python3
"""Independent FHIR R5 check of a running registry, used by the Swift tests (FHIRClientTests).

It reads resources and runs searches against BASE (the server's /fhir) and validates every
resource it gets with the `fhir.resources` R5 models (pydantic models generated from the FHIR
5.0.0 definitions by others); Bundles are validated whole and entry by entry. Searches go through
`fhirpy`, a FHIR client library, which follows the Bundles' `next` links itself. Nothing here
shares code, models or fixtures with the Swift server, so a mistake in our FHIR mapping cannot
be hidden by the same mistake in the check.

    fhir_check.py --base http://127.0.0.1:PORT/fhir --plan PLAN.json

PLAN: {"reads": ["metadata", "Location/P1", "PackagedProductDefinition?identifier=1234567"],
       "searches": [{"resource": "Practitioner", "params": {"name:contains": "van"}, "max": 100}]}
Search params are sent as given (`name:contains`, `_include`; a list repeats the parameter).
Prints one JSON object: per read its status, content type, resourceType, id, validity, errors and
body; per search the ids and types fhirpy returned (matches only: fhirpy drops included
resources), the first page's total, entry modes and entries (a plain GET), validity and errors.
Exits 0 whatever the validation found; 2 when the plan or the server cannot be used.
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from fhir.resources import get_fhir_model_class
from fhirpy import SyncFHIRClient
from fhirpy.base.searchset import Raw


def validate(resource):
    """Errors of one resource (and of each Bundle entry) against the R5 models; [] when valid."""
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return ["not a FHIR resource"]
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        errors = []
    except Exception as error:  # pydantic ValidationError, unknown resourceType, ...
        errors = [f'{resource["resourceType"]}/{resource.get("id")}: {error}']
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            errors += validate(entry.get("resource"))
    return errors


def get(url):
    """(status, Content-Type, parsed JSON or None) of a GET; error statuses are answers too."""
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        status, content_type, raw = response.status, response.headers.get("Content-Type"), response.read()
    try:
        return status, content_type, json.loads(raw)
    except ValueError:
        return status, content_type, None


def search(client, base, resource_type, params, limit):
    ids, types, errors = [], [], []
    try:
        # Raw(...) is fhirpy's documented way to send parameter names untransformed.
        for found in client.resources(resource_type).search(Raw(**params)):  # lazy, page by page via `next`
            data = found.serialize()
            ids.append(data.get("id"))
            types.append(data.get("resourceType"))
            errors += validate(data)
            if len(ids) >= limit:
                break
    except Exception as error:
        errors.append(f"fhirpy: {error}")
    # The first page as sent, for `total` and the match/include modes fhirpy does not show.
    status, _, page = get(f"{base}/{resource_type}?{urllib.parse.urlencode(params, doseq=True)}")
    if status != 200:
        errors.append(f"first page: HTTP {status}")
    errors = list(dict.fromkeys(errors + validate(page)))  # the same entry may fail in both
    entries = (page or {}).get("entry", [])
    return {"resource": resource_type, "params": params, "ids": ids, "types": types,
            "total": (page or {}).get("total"),
            "modes": [e.get("search", {}).get("mode") for e in entries],
            "firstPage": [f'{e["resource"].get("resourceType")}/{e["resource"].get("id")}'
                          for e in entries if "resource" in e],
            "valid": not errors, "errors": errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--plan", required=True)
    args = parser.parse_args()
    base = args.base.rstrip("/")
    try:
        with open(args.plan, encoding="utf-8") as f:
            plan = json.load(f)
        get(base + "/metadata")
    except (OSError, ValueError) as error:  # unreadable plan, unreachable server
        print(f"fhir_check: {error}", file=sys.stderr)
        return 2

    out = {"reads": [], "searches": []}
    for path in plan.get("reads", []):
        status, content_type, body = get(f"{base}/{path}")
        errors = validate(body)
        resource = body if isinstance(body, dict) else {}
        out["reads"].append({"path": path, "status": status, "contentType": content_type,
                             "resourceType": resource.get("resourceType"), "id": resource.get("id"),
                             "valid": not errors, "errors": errors, "body": body})
    client = SyncFHIRClient(base)  # sends Accept: application/fhir+json itself
    for s in plan.get("searches", []):
        out["searches"].append(search(client, base, s["resource"], s.get("params", {}), s.get("max", 500)))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
