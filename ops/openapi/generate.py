#!/usr/bin/env python3
"""Writes Sources/RegistryAPI/OpenAPI/openapi.json, the OpenAPI 3.1 description of /v1.

The JSON is committed (the server ships it); this script is where it is edited. Run it after
changing a route, then `ops/test.sh` checks the running server against it with schemathesis.
"""
import json
import pathlib

PROBLEM = {"$ref": "#/components/responses/Problem"}


def param(name, where, description, schema, required=False, example=None):
    out = {"name": name, "in": where, "description": description, "required": required or where == "path",
           "schema": schema}
    if example is not None:
        out["example"] = example
    return out


AT = param("at", "query", "Date the answer is valid on (YYYY-MM-DD); default today in Europe/Brussels.",
           {"type": "string", "format": "date"})
LANG = param("lang", "query", "Display language; every language is still returned.",
             {"type": "string", "enum": ["fr", "nl", "de", "en"], "default": "fr"})
HISTORY = param("history", "query", "Return every validity slice instead of the one valid at `at`.",
                {"type": "string", "enum": ["true", "false"], "default": "false"})
ENV = param("env", "query", "Delivery environment: P public pharmacy, A ambulatory care (hospital pharmacy), "
            "H hospital, R.", {"type": "string", "enum": ["P", "A", "H", "R"]})
LOOKUP = [AT, LANG, HISTORY]


def lookup(summary, description, path_params, body_schema, extra=()):
    return {"get": {
        "summary": summary, "description": description,
        "parameters": path_params + LOOKUP + list(extra),
        "responses": {
            "200": {"description": "The answer valid at `at` (or every slice with history=true).",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"},
                                "Cache-Control": {"$ref": "#/components/headers/CacheControl"}},
                    "content": {"application/json": {"schema": body_schema}}},
            "304": {"description": "Not modified: the `If-None-Match` tag is still current."},
            "400": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
        }}}


def envelope(members, required):
    return {"type": "object", "required": ["at", "language", "history", "source"] + required,
            "properties": {"at": {"type": "string", "format": "date"},
                           "language": {"type": "string", "enum": ["fr", "nl", "de", "en"]},
                           "history": {"type": "boolean"},
                           "source": {"oneOf": [{"$ref": "#/components/schemas/Source"}, {"type": "null"}]},
                           **members}}


ENTITY = {"$ref": "#/components/schemas/Entity"}
ENTITY_OR_NULL = {"oneOf": [ENTITY, {"type": "null"}]}


def entities(child=None):
    if child is None:
        return {"type": "array", "items": ENTITY}
    return {"type": "array", "items": {"allOf": [ENTITY, {"type": "object", "properties": {
        child: {"type": "array", "items": ENTITY}}}]}}


NULLABLE_BOOL = {"type": ["boolean", "null"]}
paths = {
    "/v1/medicines/cnk/{cnk}": lookup(
        "A pack in one delivery environment by its CNK",
        "The DMPP valid at `at` with its AMPP, AMP, price, flags and reimbursement contexts (with copayments).",
        [param("cnk", "path", "CNK code: 7 digits, leading zeros kept.", {"type": "string", "pattern": "^[0-9]{7}$"}, example="1000000")],
        envelope({
            "cnk": {"type": "string"}, "codeType": {"type": "string", "enum": ["CNK"]},
            "deliveryEnvironment": {"type": "string", "enum": ["P", "A", "H", "R"]},
            "price": {"type": ["number", "null"]}, "cheap": NULLABLE_BOOL, "cheapest": NULLABLE_BOOL,
            "reimbursable": NULLABLE_BOOL,
            "validity": {"oneOf": [{"$ref": "#/components/schemas/Validity"}, {"type": "null"}]},
            "display": {"oneOf": [{"$ref": "#/components/schemas/Display"}, {"type": "null"}]},
            "dmpp": ENTITY, "ampp": ENTITY_OR_NULL, "amp": ENTITY_OR_NULL,
            "reimbursementContexts": entities("copayments")},
            ["cnk", "deliveryEnvironment", "dmpp", "ampp", "amp", "reimbursementContexts", "price"]),
        extra=[dict(ENV, schema={"type": "string", "enum": ["P", "A", "H", "R"], "default": "P"})]),
    "/v1/medicines/amp/{code}": lookup(
        "An actual medicinal product (AMP)", "The AMP with its AMPPs (and their DMPPs) and components.",
        [param("code", "path", "AMP code, e.g. SAM000025-00.",
               {"type": "string", "pattern": "^SAM[0-9]{6}-[0-9]{2}$"}, example="SAM000001-00")],
        envelope({"amp": ENTITY, "ampps": entities("dmpps"), "components": entities("ingredients")},
                 ["amp", "ampps", "components"])),
    "/v1/medicines/ampp/{ctiExtended}": lookup(
        "An actual medicinal product package (AMPP)", "The AMPP with its AMP, DMPPs and components.",
        [param("ctiExtended", "path", "CTI-extended, e.g. 000025-01.",
               {"type": "string", "pattern": "^[0-9]{6}-[0-9]{2}$"}, example="000001-01")],
        envelope({"ampp": ENTITY, "amp": ENTITY_OR_NULL, "dmpps": entities(),
                  "components": entities("equivalents")}, ["ampp", "amp", "dmpps", "components"])),
    "/v1/medicines/vmp/{code}": lookup(
        "A virtual medicinal product (VMP)", "The VMP with its components and the AMPs that implement it.",
        [param("code", "path", "VMP code.", {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}, example="1")],
        envelope({"vmp": ENTITY, "components": entities("ingredients"), "amps": entities()},
                 ["vmp", "components", "amps"])),
    "/v1/medicines/vmp-groups/{code}": lookup(
        "A VMP group (generic prescribing)",
        "The group, its VMPs at `at`, and the AMPPs that belong to it at `at`.",
        [param("code", "path", "VMP group code.", {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}, example="1")],
        envelope({"vmpGroup": ENTITY, "vmps": entities(), "ampps": entities()}, ["vmpGroup", "vmps", "ampps"])),
    "/v1/companies/{actorNr}": lookup(
        "A company (marketing authorisation holder, distributor)", "The company valid at `at`.",
        [param("actorNr", "path", "Actor number: 5 digits, leading zeros kept.",
               {"type": "string", "pattern": "^[0-9]{5}$"}, example="00001")],
        envelope({"company": ENTITY}, ["company"])),
    "/v1/medicines/chapter-iv/{chapter}/{paragraph}": lookup(
        "A Chapter IV paragraph with its verses", "Reimbursement conditions of a Chapter IV paragraph.",
        [param("chapter", "path", "Chapter, a Roman numeral (IV).", {"type": "string", "pattern": "^[IVX]{1,10}$"}, example="IV"),
         param("paragraph", "path", "Paragraph name.", {"type": "string", "pattern": "^[0-9A-Za-z]{1,20}$"}, example="1")],
        envelope({"paragraph": ENTITY, "verses": entities()}, ["paragraph", "verses"])),
    "/v1/medicines": {"get": {
        "summary": "Search AMPs, AMPPs and VMPs",
        "description": "By name in any language (accent- and case-insensitive, prefix, typo-tolerant) or exact "
                       "code (CNK, CTI-extended, AMP or VMP code, ranked first), with filters that combine. "
                       "Cursor paging in a stable order.",
        "parameters": [
            param("q", "query", "Text or code; at most 200 characters, no control characters.",
                  {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"}),
            LANG, AT,
            param("atc", "query", "ATC code or prefix, e.g. N05.",
                  {"type": "string", "pattern": "^[A-Z]([0-9]([0-9]([A-Z]([A-Z]([0-9]([0-9])?)?)?)?)?)?$"}),
            param("ingredient", "query", "SAM substance code.", {"type": "string", "pattern": "^[0-9]{1,12}$"}),
            param("company", "query", "Company actor number.", {"type": "string", "pattern": "^[0-9]{5}$"}),
            param("vmpGroup", "query", "VMP group code.", {"type": "string", "pattern": "^[0-9]{1,9}$"}),
            ENV,
            param("limit", "query", "Hits per page.", {"type": "integer", "minimum": 1, "maximum": 100,
                                                      "default": 20}),
            param("cursor", "query", "The `next` value of the previous page.", {"type": "string", "minLength": 1}),
        ],
        "responses": {
            "200": {"description": "A page of hits.",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["items", "next", "nextHref", "at", "language", "limit"],
                        "properties": {
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
                            "next": {"type": ["string", "null"]}, "nextHref": {"type": ["string", "null"]},
                            "at": {"type": "string", "format": "date"}, "language": {"type": "string"},
                            "limit": {"type": "integer"}}}}}},
            "304": {"description": "Not modified."},
            "400": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
        }}},
}

paths["/v1/changes"] = {"get": {
    "summary": "The change feed",
    "description": "Change events in sequence order, without gaps: follow `next` (or `nextHref`) and no event is "
                   "missed. With `types`, events of other types are skipped and `next` still advances. With "
                   "`wait`, the request waits up to that many seconds for an event. Events older than the "
                   "retention (default 90 days) are removed; asking for a removed position is a 410 problem "
                   "that gives `feedStart`.",
    "parameters": [
        param("after", "query", "Sequence number of the last event already processed (0 for the start).",
              {"type": "integer", "minimum": 0, "default": 0}),
        param("limit", "query", "Most events in the page.", {"type": "integer", "minimum": 1, "maximum": 1000,
                                                           "default": 100}),
        param("types", "query", "Comma-separated event types or patterns with `*`, e.g. `sam.dmpp.*,sam.*.deleted`.",
              {"type": "string", "pattern": "^[a-z0-9_.*]{1,100}(,[a-z0-9_.*]{1,100}){0,49}$"}),
        param("wait", "query", "Seconds to wait for an event when there is none yet (long poll).",
              {"type": "integer", "minimum": 0, "maximum": 30, "default": 0}),
    ],
    "responses": {
        "200": {"description": "A page of events (possibly empty) and the cursor to continue from.",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["items", "next", "nextHref", "feedStart"],
                    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ChangeEvent"}},
                                   "next": {"type": "integer"}, "nextHref": {"type": "string"},
                                   "feedStart": {"type": "integer"}}}}}},
        "400": PROBLEM, "405": PROBLEM, "410": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}

document = {
    "openapi": "3.1.0",
    "info": {"title": "Belgian reference-data registry", "version": "1.0.0",
             "description": "Authentic-source lookups (SAM v2) valid on a date, search, the change feed, health and metrics. "
                            "Errors are RFC 9457 problems (application/problem+json)."},
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "paths": paths,
    "components": {
        "headers": {
            "ETag": {"description": "Strong tag of the body; send it back in If-None-Match.",
                     "schema": {"type": "string"}},
            "CacheControl": {"description": "How long the answer may be reused.", "schema": {"type": "string"}},
        },
        "responses": {"Problem": {"description": "An RFC 9457 problem.",
                                  "content": {"application/problem+json": {
                                      "schema": {"$ref": "#/components/schemas/Problem"}}}}},
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                        "properties": {"type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
                                       "status": {"type": "integer"}, "detail": {"type": "string"},
                                       "parameter": {"type": "string"},
                                       "nearestValidity": {"$ref": "#/components/schemas/Validity"},
                                       "environments": {"type": "array", "items": {"type": "string"}},
                                       "feedStart": {"type": "integer"}}},
            "Validity": {"type": "object", "required": ["from", "to"],
                         "properties": {"from": {"type": ["string", "null"], "format": "date"},
                                        "to": {"type": ["string", "null"], "format": "date"}}},
            "Display": {"type": "object", "required": ["name", "language"],
                        "properties": {"name": {"type": "string"}, "language": {"type": ["string", "null"]}}},
            "Source": {"type": "object", "required": ["importRunId", "importedAt", "href"],
                       "description": "The SAM import the registry answers from.",
                       "properties": {"importRunId": {"type": "integer"}, "samId": {"type": ["string", "null"]},
                                      "version": {"type": ["string", "null"]}, "importedAt": {"type": "string"},
                                      "href": {"type": "string"}}},
            "Entity": {"type": "object", "required": ["type", "key", "attributes"],
                       "description": "One SAM entity: source field names in lowerCamelCase. Without history, "
                                      "`validity` and `fields` are the slice valid at `at` (null when none is, "
                                      "with `nearestValidity`); with history, `slices` holds every slice.",
                       "properties": {
                           "type": {"type": "string"}, "key": {"type": "object"}, "href": {"type": "string"},
                           "attributes": {"type": "object"},
                           "validity": {"oneOf": [{"$ref": "#/components/schemas/Validity"}, {"type": "null"}]},
                           "fields": {"type": ["object", "null"]},
                           "nearestValidity": {"$ref": "#/components/schemas/Validity"},
                           "display": {"$ref": "#/components/schemas/Display"},
                           "slices": {"type": "array", "items": {"type": "object", "required": ["validity", "fields"],
                                                                 "properties": {
                                                                     "validity": {"$ref": "#/components/schemas/Validity"},
                                                                     "fields": {"type": "object"}}}}}},
            "ChangeEvent": {"type": "object", "required": ["id", "seq", "type", "timestamp", "data"],
                            "properties": {"id": {"type": "string", "pattern": "^evt_[0-9]{12}$"},
                                           "seq": {"type": "integer"}, "type": {"type": "string"},
                                           "timestamp": {"type": "string", "format": "date-time"},
                                           "data": {"type": "object", "required": ["key"], "properties": {
                                               "key": {"type": "object"},
                                               "effectiveFrom": {"type": "string", "format": "date"},
                                               "changed": {"type": "array", "items": {"type": "string"}},
                                               "href": {"type": "string"}}}}},
            "SearchHit": {"type": "object",
                          "required": ["type", "code", "href", "name", "match", "matchedName", "matchedLanguages"],
                          "properties": {"type": {"type": "string", "enum": ["amp", "ampp", "vmp"]},
                                         "code": {"type": "string"}, "href": {"type": "string"},
                                         "name": {"type": "string"},
                                         "match": {"type": "string", "enum": ["code", "prefix", "similar"]},
                                         "matchedName": {"type": "string"},
                                         "matchedLanguages": {"type": "array", "items": {"type": "string"}}}},
        },
    },
}

out = pathlib.Path(__file__).resolve().parents[2] / "Sources/RegistryAPI/OpenAPI/openapi.json"
out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {out}")
