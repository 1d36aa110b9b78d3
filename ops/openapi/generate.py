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
        "An actual medicinal product (AMP)",
        "The AMP with its AMPPs (and their DMPPs) and components, and `idmp`: its dose forms and routes as RMS "
        "terms (through their EDQM standard terms), active substances as SMS substances, strength units as RMS "
        "units, and what blocks the rest.",
        [param("code", "path", "AMP code, e.g. SAM000025-00.",
               {"type": "string", "pattern": "^SAM[0-9]{6}-[0-9]{2}$"}, example="SAM000001-00")],
        envelope({"amp": ENTITY, "ampps": entities("dmpps"), "components": entities("ingredients"),
                  "idmp": {"oneOf": [{"$ref": "#/components/schemas/IDMPCodes"}, {"type": "null"}]}},
                 ["amp", "ampps", "components", "idmp"])),
    "/v1/medicines/ampp/{ctiExtended}": lookup(
        "An actual medicinal product package (AMPP)",
        "The AMPP with its AMP, DMPPs and components, and `idmp`: the AMP's IDMP codes with the pack's "
        "packaging (EDQM code and RMS packaging term).",
        [param("ctiExtended", "path", "CTI-extended, e.g. 000025-01.",
               {"type": "string", "pattern": "^[0-9]{6}-[0-9]{2}$"}, example="000001-01")],
        envelope({"ampp": ENTITY, "amp": ENTITY_OR_NULL, "dmpps": entities(),
                  "components": entities("equivalents"),
                  "idmp": {"oneOf": [{"$ref": "#/components/schemas/IDMPCodes"}, {"type": "null"}]}},
                 ["ampp", "amp", "dmpps", "components", "idmp"])),
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

SECURED = [{"bearerAuth": []}]
PROFESSIONAL = {"type": "object", "required": ["id", "href", "firstName", "lastName", "professions", "sources"],
                "properties": {"id": {"type": "string", "pattern": "^hcp_[0-9a-f]{16}$"}, "href": {"type": "string"},
                               "firstName": {"type": ["string", "null"]}, "lastName": {"type": ["string", "null"]},
                               "gender": {"type": ["string", "null"]}, "languages": {"type": "array"},
                               "deceased": {"type": "boolean"}, "identitySource": {"type": ["string", "null"]},
                               "sources": {"type": "array", "items": {"type": "string"}},
                               "professions": {"type": "array", "items": {"type": "object"}},
                               "practices": {"type": "array", "items": {"type": "object"}},
                               "at": {"type": "string", "format": "date"}, "requestedNihii": {"type": "string"},
                               "importRunId": {"type": "integer"}}}
paths["/v1/providers/{ref}"] = {"get": {
    "summary": "A professional by NIHII",
    "description": "The professional behind an 11-digit NIHII (or a `hcp_` id): professions (with their NIHII, "
                   "the sources that assert them, specialities and licences) and practices valid `at` a date, "
                   "merged from every CoBRHA source with each fact's source. Never the SSIN or the birth date.",
    "parameters": [param("ref", "path", "An 11-digit NIHII or a professional id",
                         {"type": "string", "pattern": "^([0-9]{11}|hcp_[0-9a-f]{16})$"}, example="10000196004"),
                   AT, HISTORY],
    "responses": {
        "200": {"description": "The professional.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                "content": {"application/json": {"schema": PROFESSIONAL}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}
paths["/v1/providers"] = {"get": {
    "summary": "A professional by SSIN (sensitive)",
    "description": "The professional with this national or BIS number, with the personal fields (ssin, birthDate, "
                   "deathDate). Needs the `providers:sensitive` scope; every read is audited (by the professional's "
                   "public id, never the SSIN).",
    "security": SECURED,
    "parameters": [param("ssin", "query", "National or BIS number, 11 digits", {"type": "string", "pattern": "^[0-9]{11}$"},
                         required=True, example="85073003328"), AT, HISTORY],
    "responses": {
        "200": {"description": "The professional with personal fields.",
                "content": {"application/json": {"schema": PROFESSIONAL}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}
paths["/v1/providers/lookup"] = {"post": {
    "summary": "A professional by SSIN, the SSIN in the body (sensitive)",
    "description": "The same answer as `GET /v1/providers?ssin=`, with the national or BIS number in the body so that "
                   "it stays out of URLs, proxies' and servers' access logs. Needs the `providers:sensitive` scope; "
                   "every read is audited by the professional's public id.",
    "operationId": "lookupProviderBySSIN",
    "security": SECURED,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["ssin"], "additionalProperties": False,
        "properties": {"ssin": {"type": "string", "pattern": "^[0-9]{11}$", "example": "85073003328"},
                       "at": {"type": ["string", "null"], "format": "date"},
                       "history": {"type": ["boolean", "null"]}}}}}},
    "responses": {
        "200": {"description": "The professional with personal fields.",
                "content": {"application/json": {"schema": PROFESSIONAL}}},
        "400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "404": PROBLEM, "405": PROBLEM, "413": PROBLEM,
        "414": PROBLEM, "415": PROBLEM, "422": PROBLEM, "500": PROBLEM,
    }}}
PRACTICE = {"type": "object", "required": ["id", "href", "nihii", "address", "from"],
            "properties": {"id": {"type": "string"}, "href": {"type": "string"}, "nihii": {"type": "string"},
                           "role": {"type": "string"}, "institution": {"type": "string"},
                           "institutionHref": {"type": "string"}, "address": {"type": "object"},
                           "position": {"type": "object"}, "languages": {"type": "array"},
                           "competences": {"type": "array"}, "contact": {"type": "object"},
                           "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                           "professional": {"oneOf": [PROFESSIONAL, {"type": "null"}]}}}
paths["/v1/practices/{id}"] = {"get": {
    "summary": "A practice of the practice register",
    "parameters": [param("id", "path", "The register's practice id", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                         example="PR0000001")],
    "responses": {
        "200": {"description": "The practice and its professional.", "content": {"application/json": {"schema": PRACTICE}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}
paths["/v1/practices"] = {"get": {
    "summary": "Practice search",
    "description": "Practices valid `at` a date, filtered (all filters apply before the limit) by a name "
                   "(accent-, case- and particle-insensitive: Vandecasteele = Van De Casteele; typo-tolerant; the "
                   "exact spelling ranks first), profession, qualification, language, postcode and a radius around "
                   "a point or a postcode's centroid. Sorted by relevance (with name), distance (with near) or name. "
                   "Follow `next` for the following page; `total` counts matches up to 1000 (relation `gte` above).",
    "parameters": [
        param("name", "query", "A family name, or given and family name", {"type": "string", "minLength": 2, "maxLength": 100},
              example="Van de Casteele"),
        param("profession", "query", "CD-HCPARTY profession code", {"type": "string", "pattern": "^pers[a-z]{2,60}$"},
              example="persphysician"),
        param("qualification", "query", "CD-HCPARTY speciality code", {"type": "string", "pattern": "^pers[a-z]{2,60}$"}),
        param("language", "query", "A language spoken at the practice (ISO 639-1)", {"type": "string", "pattern": "^[a-z]{2}$"}),
        param("postcode", "query", "Belgian postcode", {"type": "string", "pattern": "^[0-9]{4}$"}),
        param("near", "query", "LAT,LON (WGS84) or a postcode", {"type": "string"}, example="50.8466,4.3528"),
        param("radius_km", "query", "Radius around `near` (default 10)", {"type": "number", "exclusiveMinimum": 0, "maximum": 250}),
        AT,
        param("sort", "query", "distance (needs near) or relevance (needs name)", {"type": "string", "enum": ["distance", "relevance"]}),
        param("limit", "query", "Hits per page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        param("cursor", "query", "From the `next` link of the previous page", {"type": "string"}),
    ],
    "responses": {
        "200": {"description": "A page of hits.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["at", "sort", "items", "total", "next"],
            "properties": {"at": {"type": "string", "format": "date"}, "sort": {"type": "string", "enum": ["distance", "relevance", "name"]},
                           "items": {"type": "array", "items": {"type": "object", "required": ["practice", "professional"],
                                                                 "properties": {"practice": PRACTICE,
                                                                                "professional": {"type": ["object", "null"]},
                                                                                "distanceKm": {"type": "number"},
                                                                                "score": {"type": "number"}}}},
                           "total": {"type": "object", "required": ["value", "relation"], "properties": {
                               "value": {"type": "integer"}, "relation": {"type": "string", "enum": ["eq", "gte"]}}},
                           "next": {"type": ["string", "null"]}}}}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}

paths["/v1/institutions/{ref}"] = {"get": {
    "summary": "Institutions by identifier",
    "description": "The institutions an identifier names, as their sources describe them (pharmacies from the "
                   "AFMPS list, healthcare organisations from CoBRHA snapshots): `afmps:913007`, `cbe:0403019261` (a holder's number may name several "
                   "pharmacies; dots allowed), `nihii:…` (8 digits), `ehp:…` (10 digits).",
    "parameters": [param("ref", "path", "scheme:identifier",
                         {"type": "string", "pattern": "^(afmps:[0-9]{1,6}|cbe:[0-9.]{9,12}|nihii:[0-9]{8}|ehp:[0-9]{10})$"},
                         example="afmps:913007")],
    "responses": {
        "200": {"description": "The institutions.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["identifier", "items"],
                    "properties": {"identifier": {"type": "object", "required": ["scheme", "value"], "properties": {
                        "scheme": {"type": "string"}, "value": {"type": "string"}}},
                        "items": {"type": "array", "items": {"type": "object", "required": ["key", "href", "kind", "name", "source"],
                                                             "properties": {"key": {"type": "string"}, "href": {"type": "string"},
                                                                            "kind": {"type": "string"},
                                                                            "name": {"oneOf": [{"type": "string"}, {"type": "object"}]},
                                                                            "source": {"type": "string"},
                                                                            "status": {"oneOf": [{"type": "string"}, {"type": "array"}]},
                                                                            "address": {"type": "object"}, "position": {"type": "object"},
                                                                            "holder": {"type": "object"}, "operator": {"type": "object"},
                                                                            "identifiers": {"type": "object"},
                                                                            "importRunId": {"type": "integer"}}}}}}}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}

# SPOR: RMS referential lists and terms, SMS substances (as imported with `registry import spor-*`).
RMS_ID = {"type": "string", "pattern": "^[0-9]{12}$"}
RMS_TERM_SUMMARY = {"type": "object", "required": ["termId", "listId", "status", "name", "href"], "properties": {
    "termId": RMS_ID, "listId": RMS_ID,
    "status": {"type": "string", "enum": ["CURRENT", "NON_CURRENT", "NULLIFIED", "PROVISIONAL"]},
    "name": {"type": ["string", "null"]}, "nameLanguage": {"type": "string"},
    "mainMapping": {"type": "boolean"}, "href": {"type": "string"}}}


def spor_get(summary, description, parameters, schema, not_found=True):
    responses = {"200": {"description": summary, "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                         "content": {"application/json": {"schema": schema}}},
                 "304": {"description": "Not modified."},
                 "400": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM}
    if not_found:
        responses["404"] = PROBLEM
    return {"get": {"summary": summary, "description": description, "parameters": parameters,
                    "responses": responses}}


paths["/v1/spor/rms/lists"] = spor_get(
    "Imported RMS lists", "Every RMS list imported, with its English name when known and its term counts.", [],
    {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["listId", "name", "terms", "currentTerms", "href"],
        "properties": {"listId": RMS_ID, "name": {"type": ["string", "null"]}, "terms": {"type": "integer"},
                       "currentTerms": {"type": "integer"},
                       "lastChangedByImportRun": {"type": ["integer", "null"]}, "href": {"type": "string"}}}}}},
    not_found=False)
paths["/v1/spor/rms/lists/{listId}/terms"] = spor_get(
    "Terms of an RMS list",
    "A page of the list's terms in term id order. `q` matches names as a substring, ignoring case and accents "
    "(in `lang` when given, which also picks the name shown; English otherwise); `next` links the following page.",
    [param("listId", "path", "RMS list id.", RMS_ID, example="200000000004"),
     param("q", "query", "Part of a term name.", {"type": "string"}, example="tablet"),
     param("lang", "query", "Two-letter language of the names matched and shown.",
           {"type": "string", "pattern": "^[a-z]{2}$"}, example="en"),
     param("status", "query", "Only terms with this status.",
           {"type": "string", "enum": ["CURRENT", "NON_CURRENT", "NULLIFIED", "PROVISIONAL"]}),
     param("after", "query", "Term id of the previous page's last term.", RMS_ID),
     param("limit", "query", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100})],
    {"type": "object", "required": ["listId", "name", "total", "items"], "properties": {
        "listId": RMS_ID, "name": {"type": ["string", "null"]}, "total": {"type": "integer"},
        "items": {"type": "array", "items": RMS_TERM_SUMMARY}, "next": {"type": "string"}}})
paths["/v1/spor/rms/terms"] = spor_get(
    "RMS terms by source code",
    "The terms a code of a mapping source maps to (EDQM standard terms, UCUM units, XEVMPD codes, ...), "
    "main mappings and current terms first.",
    [param("source", "query", "EDQM, UCUM, XEVMPD, VICH or a 12-digit RMS mapping source id.", {"type": "string"},
           required=True, example="EDQM"),
     param("code", "query", "The code in that source.", {"type": "string"}, required=True, example="10219000")],
    {"type": "object", "required": ["source", "code", "items"], "properties": {
        "source": {"type": "object", "required": ["id", "name"],
                   "properties": {"id": RMS_ID, "name": {"type": ["string", "null"]}}},
        "code": {"type": "string"}, "items": {"type": "array", "items": RMS_TERM_SUMMARY}}},
    not_found=False)
paths["/v1/spor/rms/terms/{termId}"] = spor_get(
    "An RMS term",
    "Everything the export says about the term: status, replacement, version, names per language with their "
    "translation status, symbol, source mappings and attributes.",
    [param("termId", "path", "RMS term id.", RMS_ID, example="100000073664")],
    {"type": "object", "required": ["termId", "listId", "status", "names", "sourceMappings", "href"],
     "properties": {"termId": RMS_ID, "listId": RMS_ID, "listName": {"type": ["string", "null"]},
                    "status": {"type": "string"}, "currentTermId": {"type": ["string", "null"]},
                    "replacedBy": {"type": "object"}, "names": {"type": "object"},
                    "sourceMappings": {"type": "array", "items": {"type": "object"}},
                    "attributes": {"type": "array"}, "href": {"type": "string"},
                    "lastChangedByImportRun": {"type": ["integer", "null"]}}})
paths["/v1/spor/sms/substances"] = spor_get(
    "SMS substances by name",
    "Substances with a name (preferred or synonym) containing `q`, ignoring case and accents: exact names first, "
    "then names starting with `q`, then by similarity.",
    [param("q", "query", "Part of a substance name, at least 2 characters.", {"type": "string", "minLength": 2},
           required=True, example="haloperidol"),
     param("limit", "query", "At most this many.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})],
    {"type": "object", "required": ["query", "total", "items"], "properties": {
        "query": {"type": "string"}, "total": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object", "required": ["substanceId", "name", "href"],
                                             "properties": {"substanceId": {"type": "string"},
                                                            "name": {"type": "string"},
                                                            "matchedName": {"type": "string"},
                                                            "href": {"type": "string"}}}}}},
    not_found=False)
paths["/v1/spor/sms/substances/{substanceId}"] = spor_get(
    "An SMS substance", "The substance's preferred name, synonyms and moiety.",
    [param("substanceId", "path", "SMS substance id.", {"type": "string", "pattern": "^[0-9]{9,15}$"},
           example="100000092645")],
    {"type": "object", "required": ["substanceId", "name", "href"], "properties": {
        "substanceId": {"type": "string"}, "name": {"type": "string"},
        "synonyms": {"type": "array", "items": {"type": "string"}}, "moiety": {"type": "object"},
        "href": {"type": "string"}, "lastChangedByImportRun": {"type": ["integer", "null"]}}})

OMS_RECORD = {"type": "object", "required": ["status", "href"], "properties": {
    "orgId": {"type": "string"}, "locId": {"type": "string"}, "name": {"type": "string"},
    "status": {"type": ["string", "null"]}, "acronym": {"type": "string"},
    "alternativeNames": {"type": "array", "items": {"type": "string"}},
    "aliasIds": {"type": "array", "items": {"type": "string"}}, "mergedInto": {"type": "string"},
    "address": {"type": "object"}, "resolvedFrom": {"type": "string"}, "href": {"type": "string"},
    "locations": {"type": "array", "items": {"type": "object"}}, "organisation": {"type": "object"},
    "lastChangedByImportRun": {"type": ["integer", "null"]}}}
paths["/v1/spor/oms/organisations/{id}"] = spor_get(
    "An OMS organisation", "The organisation with its locations; an id merged into it finds it too (`resolvedFrom`).",
    [param("id", "path", "OMS organisation id.", {"type": "string", "pattern": "^ORG-[0-9]{1,16}$"},
           example="ORG-100000001")], OMS_RECORD)
paths["/v1/spor/oms/locations/{id}"] = spor_get(
    "An OMS location", "The location with its organisation; an id merged into it finds it too (`resolvedFrom`).",
    [param("id", "path", "OMS location id.", {"type": "string", "pattern": "^LOC-[0-9]{1,16}$"},
           example="LOC-100000011")], OMS_RECORD)

paths["/v1/mappings/coverage"] = {"get": {
    "summary": "IDMP coverage of SAM",
    "description": "Which share of the AMPs valid on `at` is fully coded in IDMP terms (dose forms and routes as RMS "
                   "terms via their EDQM standard terms, active substances as SMS substances, strength units as RMS "
                   "units), how many AMPs each aspect blocks, the reasons, and the blockers that hold back most AMPs.",
    "parameters": [AT, param("limit", "query", "How many blockers to list.",
                             {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50})],
    "responses": {
        "200": {"description": "The coverage report.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["at", "amps", "fullyCodedAmps", "fullyCodedShare", "aspects",
                                                   "reasons", "blockers"],
                    "properties": {
                        "at": {"type": "string", "format": "date"}, "amps": {"type": "integer"},
                        "fullyCodedAmps": {"type": "integer"}, "fullyCodedShare": {"type": "number"},
                        "aspects": {"type": "object", "additionalProperties": {
                            "type": "object", "properties": {"ampsBlocked": {"type": "integer"},
                                                             "codesBlocked": {"type": "integer"}}}},
                        "reasons": {"type": "array", "items": {"type": "object", "required": ["aspect", "reason", "amps"],
                                                               "properties": {"aspect": {"type": "string"},
                                                                              "reason": {"type": "string"},
                                                                              "amps": {"type": "integer"},
                                                                              "codes": {"type": "integer"}}}},
                        "blockers": {"type": "array", "items": {"$ref": "#/components/schemas/IDMPBlocker"}}}}}}},
        "304": {"description": "Not modified."},
        "400": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM,
    }}}

# Subscription management: bearer token with scope subscriptions:manage (admin sees every client's).
SUB_ID = param("id", "path", "Subscription id.", {"type": "string", "pattern": "^sub_[0-9a-f]{20}$"},
               example="sub_0123456789abcdef0123")
AUTH_ERRORS = {"401": PROBLEM, "403": PROBLEM, "404": PROBLEM, "405": PROBLEM, "414": PROBLEM, "500": PROBLEM}
BODY_ERRORS = {"400": PROBLEM, "413": PROBLEM, "415": PROBLEM, "422": PROBLEM}


def json_body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok(description, schema, status="200"):
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


SUBSCRIPTION = {"$ref": "#/components/schemas/Subscription"}
paths["/v1/subscriptions"] = {
    "post": {
        "summary": "Create a webhook subscription",
        "description": "Events of `types` (with `*` wildcards) that pass `filter` are POSTed to `url` as Standard "
                       "Webhooks, in sequence order, from now or from feed position `after`. The answer carries the "
                       "signing secret (`whsec_…`) once. The URL's host must resolve to public addresses (or "
                       "allow-listed ones) and use https unless allow-listed; this is checked again at every delivery. "
                       "A client has at most `--max-subscriptions-per-client` (default 100) subscriptions: one more "
                       "is a 422 problem (`subscription-limit-reached`). The secret is stored encrypted.",
        "security": SECURED,
        "requestBody": json_body({"$ref": "#/components/schemas/SubscriptionCreate"}),
        "operationId": "createSubscription",
        "responses": {"201": {**ok("Created; `secret` is shown only now.",
                                   {"allOf": [SUBSCRIPTION, {"type": "object", "required": ["secret"], "properties": {
                                       "secret": {"type": "string", "pattern": "^whsec_"}}}]}, "201")["201"],
                              "links": {name: {"operationId": op, "parameters": {"id": "$response.body#/id"}}
                                        for name, op in [("GetSubscription", "getSubscription"),
                                                         ("UpdateSubscription", "updateSubscription"),
                                                         ("DeleteSubscription", "deleteSubscription"),
                                                         ("RotateSecret", "rotateSecret"),
                                                         ("ListDeliveries", "listDeliveries"),
                                                         ("Replay", "replay"), ("Ping", "ping")]}},
                      **AUTH_ERRORS, **BODY_ERRORS, "410": PROBLEM}},
    "get": {
        "summary": "List subscriptions",
        "description": "The calling client's subscriptions (every client's for admin).",
        "security": SECURED,
        "responses": {**ok("The subscriptions.", {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": SUBSCRIPTION}}}), **AUTH_ERRORS, "400": PROBLEM}},
}
paths["/v1/subscriptions/{id}"] = {
    "get": {"summary": "A subscription", "operationId": "getSubscription", "security": SECURED, "parameters": [SUB_ID],
            "responses": {**ok("The subscription.", SUBSCRIPTION), **AUTH_ERRORS, "400": PROBLEM}},
    "patch": {"summary": "Change a subscription", "operationId": "updateSubscription",
              "description": "Members given replace the stored ones; `status` active re-enables a disabled one.",
              "security": SECURED, "parameters": [SUB_ID],
              "requestBody": json_body({"$ref": "#/components/schemas/SubscriptionPatch"}),
              "responses": {**ok("The changed subscription.", SUBSCRIPTION), **AUTH_ERRORS, **BODY_ERRORS}},
    "delete": {"summary": "Delete a subscription with its secrets and delivery history", "operationId": "deleteSubscription", "security": SECURED,
               "parameters": [SUB_ID],
               "responses": {"204": {"description": "Deleted."}, **AUTH_ERRORS}},
}
paths["/v1/subscriptions/{id}/secret/rotate"] = {"post": {
    "summary": "Rotate the signing secret", "operationId": "rotateSecret",
    "description": "A new secret signs from now; the previous one keeps signing for `overlapSeconds` (default "
                   "24 h), during which both signatures are sent.",
    "security": SECURED, "parameters": [SUB_ID],
    "requestBody": json_body({"type": "object", "additionalProperties": False, "properties": {
        "overlapSeconds": {"type": "integer", "minimum": 0, "maximum": 604800}}}, required=False),
    "responses": {**ok("The new secret, shown once.", {"type": "object",
                                                      "required": ["secret", "previousSecretExpiresAt"],
                                                      "properties": {"secret": {"type": "string"},
                                                                     "previousSecretExpiresAt": {"type": "string"}}}),
                  **AUTH_ERRORS, **BODY_ERRORS}}}
paths["/v1/subscriptions/{id}/deliveries"] = {"get": {
    "summary": "Deliveries of a subscription, newest first, with every attempt", "operationId": "listDeliveries",
    "security": SECURED,
    "parameters": [SUB_ID,
                   param("status", "query", "Only deliveries in this state.",
                         {"type": "string", "enum": ["pending", "retrying", "succeeded", "dead"]}),
                   param("before", "query", "Delivery id to continue before (from `nextHref`).",
                         {"type": "integer", "minimum": 1}),
                   param("limit", "query", "Most deliveries in the page.",
                         {"type": "integer", "minimum": 1, "maximum": 500, "default": 50})],
    "responses": {**ok("A page of deliveries.", {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
        "nextHref": {"type": "string"}}}), **AUTH_ERRORS, "400": PROBLEM}}}
paths["/v1/subscriptions/{id}/deliveries/{delivery}/retry"] = {"post": {
    "summary": "Send a dead letter again",
    "description": "Puts the dead delivery back at the head of the queue with a fresh retry schedule.",
    "security": SECURED,
    "parameters": [SUB_ID, param("delivery", "path", "Delivery id.", {"type": "integer", "minimum": 1}, example=1)],
    "responses": {**ok("Queued.", {"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "integer"}, "status": {"type": "string"}}}, "202"),
        **AUTH_ERRORS, "400": PROBLEM, "409": PROBLEM}}}
paths["/v1/subscriptions/{id}/replay"] = {"post": {
    "summary": "Send a range of past events again", "operationId": "replay",
    "description": "Queues the subscription's events (its types and filter apply) from `fromSeq` or `since` up to "
                   "`toSeq`/`until`, in order, with their original webhook ids. `since`/`until` are strict RFC 3339 "
                   "(offsets up to ±23:59). At most `--replay-max-events` (default 10,000) events per call (a "
                   "larger `limit` is a 422); a replay that would leave more than `--max-queued-deliveries` "
                   "(default 50,000) deliveries waiting queues nothing and is a 429 problem "
                   "(`delivery-queue-full`) with `Retry-After`.",
    "security": SECURED, "parameters": [SUB_ID],
    "requestBody": json_body({"$ref": "#/components/schemas/Replay"}),
    "responses": {**ok("How many deliveries were queued.", {"type": "object", "required": ["queued"],
                                                            "properties": {"queued": {"type": "integer"}}}, "202"),
                  **AUTH_ERRORS, **BODY_ERRORS, "410": PROBLEM,
                  "429": PROBLEM}}}
paths["/v1/subscriptions/{id}/ping"] = {"post": {
    "summary": "Send a signed webhook.ping now and report the receiver's answer", "operationId": "ping",
    "security": SECURED, "parameters": [SUB_ID],
    "responses": {**ok("The attempt.", {"type": "object", "required": ["deliveryId", "messageId", "delivered"],
                                        "properties": {"deliveryId": {"type": "integer"},
                                                       "messageId": {"type": "string"},
                                                       "delivered": {"type": "boolean"},
                                                       "statusCode": {"type": "integer"},
                                                       "latencyMs": {"type": "number"},
                                                       "targetAddress": {"type": "string"},
                                                       "error": {"type": "string"}}}),
                  **AUTH_ERRORS, "503": PROBLEM}}}
paths["/v1/audit"] = {"get": {
    "summary": "The audit log (admin)",
    "description": "Every management action and every read that needed a sensitive scope, newest first: who "
                   "(client), what (action, target), when, and the outcome.",
    "security": SECURED,
    "parameters": [param("before", "query", "Entry id to continue before.", {"type": "integer", "minimum": 1}),
                   param("limit", "query", "Most entries.", {"type": "integer", "minimum": 1, "maximum": 1000,
                                                             "default": 100}),
                   param("client", "query", "Only this client's entries.", {"type": "string", "maxLength": 100}),
                   param("action", "query", "Only this action, e.g. subscription.create.",
                         {"type": "string", "maxLength": 100})],
    "responses": {**ok("A page of entries.", {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
        "nextHref": {"type": "string"}}}), **AUTH_ERRORS, "400": PROBLEM}}}

FILTER = {"type": "object", "maxProperties": 20,
          "description": "Per event-key field (or `atc`): `{\"in\": [...]}` or `{\"prefix\": [...]}`; all must match.",
          "additionalProperties": {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
              "in": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
              "prefix": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}}}
TYPES = {"type": "array", "minItems": 1, "maxItems": 50,
         "items": {"type": "string", "pattern": "^[a-z0-9_.*]{1,100}$"}}
SUBSCRIPTION_SCHEMAS = {
    "Subscription": {"type": "object",
                     "required": ["id", "clientId", "url", "types", "filter", "payload", "status", "createdAt",
                                  "updatedAt", "position", "queued", "deliveriesHref"],
                     "properties": {"id": {"type": "string"}, "clientId": {"type": "string"},
                                    "url": {"type": "string"}, "types": {"type": "array", "items": {"type": "string"}},
                                    "filter": {"type": "object"}, "payload": {"type": "string", "enum": ["thin", "full"]},
                                    "status": {"type": "string", "enum": ["active", "paused", "disabled"]},
                                    "statusReason": {"type": "string"}, "description": {"type": "string"},
                                    "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
                                    "position": {"type": "integer", "description": "Last feed position examined."},
                                    "queued": {"type": "integer"}, "failingSince": {"type": "string"},
                                    "previousSecretExpiresAt": {"type": "string"},
                                    "deliveriesHref": {"type": "string"}}},
    "SubscriptionCreate": {"type": "object", "required": ["url", "types"], "additionalProperties": False,
                           "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2000,
                                                  "example": "http://127.0.0.1:9/hook"},
                                          "types": TYPES, "filter": FILTER,
                                          "payload": {"type": "string", "enum": ["thin", "full"], "default": "thin"},
                                          "description": {"type": ["string", "null"], "maxLength": 500},
                                          "after": {"type": ["integer", "null"], "minimum": 0}}},
    "SubscriptionPatch": {"type": "object", "additionalProperties": False,
                          "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2000},
                                         "types": TYPES, "filter": FILTER,
                                         "payload": {"type": "string", "enum": ["thin", "full"]},
                                         "status": {"type": "string", "enum": ["active", "paused"]},
                                         "description": {"type": ["string", "null"], "maxLength": 500}}},
    "Replay": {"type": "object", "additionalProperties": False,
               "anyOf": [{"required": ["fromSeq"]}, {"required": ["since"]}],
               "properties": {"fromSeq": {"type": ["integer", "null"], "minimum": 0},
                              "toSeq": {"type": ["integer", "null"], "minimum": 0},
                              "since": {"type": ["string", "null"], "format": "date-time"},
                              "until": {"type": ["string", "null"], "format": "date-time"},
                              "limit": {"type": "integer", "minimum": 1, "maximum": 10000,
                                        "description": "Most events to queue; at most --replay-max-events "
                                                       "(default 10000)."}}},
    "Delivery": {"type": "object", "required": ["id", "kind", "messageId", "eventType", "status", "attempts",
                                                "createdAt", "attemptLog"],
                 "properties": {"id": {"type": "integer"}, "kind": {"type": "string", "enum": ["event", "replay", "ping"]},
                                "eventSeq": {"type": "integer"}, "messageId": {"type": "string"},
                                "eventType": {"type": "string"},
                                "status": {"type": "string", "enum": ["pending", "retrying", "succeeded", "dead"]},
                                "attempts": {"type": "integer"}, "nextAttemptAt": {"type": "string"},
                                "createdAt": {"type": "string"}, "finishedAt": {"type": "string"},
                                "lastError": {"type": "string"},
                                "attemptLog": {"type": "array", "items": {"type": "object", "required": ["attempt", "at"],
                                               "properties": {"attempt": {"type": "integer"}, "at": {"type": "string"},
                                                              "targetAddress": {"type": "string"},
                                                              "statusCode": {"type": "integer"},
                                                              "latencyMs": {"type": "number"},
                                                              "responseBody": {"type": "string",
                                                                               "description": "First 4 KB."},
                                                              "error": {"type": "string"}}}}}},
    "AuditEntry": {"type": "object", "required": ["id", "at", "action", "outcome", "detail"],
                   "properties": {"id": {"type": "integer"}, "at": {"type": "string"}, "clientId": {"type": "string"},
                                  "action": {"type": "string"}, "target": {"type": "string"},
                                  "outcome": {"type": "string", "enum": ["succeeded", "refused", "failed"]},
                                  "status": {"type": "integer"}, "detail": {"type": "object"}}},
}

document = {
    "openapi": "3.1.0",
    "info": {"title": "Belgian reference-data registry", "version": "1.0.0",
             "description": "Authentic-source lookups (SAM v2) valid on a date, search, the change feed, webhook "
                            "subscriptions (Standard Webhooks), the audit log, health and metrics. "
                            "Errors are RFC 9457 problems (application/problem+json)."},
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "paths": paths,
    "components": {
        "headers": {
            "ETag": {"description": "Strong tag of the body; send it back in If-None-Match.",
                     "schema": {"type": "string"}},
            "CacheControl": {"description": "How long the answer may be reused.", "schema": {"type": "string"}},
        },
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `registry clients create` (rgt_…)."}},
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
                                       "feedStart": {"type": "integer"}, "pointer": {"type": "string"},
                                       "requiredScope": {"type": "string"}, "allow": {"type": "string"}}},
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
            **SUBSCRIPTION_SCHEMAS,
            "ChangeEvent": {"type": "object", "required": ["id", "seq", "type", "timestamp", "data"],
                            "properties": {"id": {"type": "string", "pattern": "^evt_[0-9]{12}$"},
                                           "seq": {"type": "integer"}, "type": {"type": "string"},
                                           "timestamp": {"type": "string", "format": "date-time"},
                                           "data": {"type": "object", "required": ["key"], "properties": {
                                               "key": {"type": "object"},
                                               "effectiveFrom": {"type": "string", "format": "date"},
                                               "changed": {"type": "array", "items": {"type": "string"}},
                                               "href": {"type": "string"}}}}},
            "IDMPBlocker": {"type": "object", "required": ["aspect", "reason", "detail"],
                            "description": "Why an item is not coded: `aspect` (component, dose-form, route, "
                                           "substance, unit, packaging), `reason` (no-edqm-standard, "
                                           "edqm-not-in-rms, no-english-name, no-sms-match, ambiguous-sms-match, "
                                           "unit-not-in-rms, no-component), the SAM code and name.",
                            "properties": {"aspect": {"type": "string"}, "reason": {"type": "string"},
                                           "code": {"type": "string"}, "name": {"type": "string"},
                                           "detail": {"type": "string"}, "amps": {"type": "integer"},
                                           "exampleAmp": {"type": "string"}}},
            "IDMPCodes": {"type": "object", "required": ["components", "blockers", "fullyCoded"],
                          "properties": {
                              "fullyCoded": {"type": "boolean"},
                              "blockers": {"type": "array", "items": {"$ref": "#/components/schemas/IDMPBlocker"}},
                              "components": {"type": "array", "items": {"type": "object", "properties": {
                                  "sequenceNr": {"type": "string"},
                                  "doseForms": {"type": "array", "items": {"type": "object"}},
                                  "routes": {"type": "array", "items": {"type": "object"}},
                                  "activeIngredients": {"type": "array", "items": {"type": "object"}}}}},
                              "packaging": {"type": "array", "items": {"type": "object"}}}},
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
