-- SAM v2 entities: one row per entity (AMP, AMPP, DMPP, VMP, company, reimbursement context,
-- reference table entry, ...), holding every validity slice in a canonical JSON document.
--
-- document = {"key": {...identity attributes}, "attributes": {...}, "slices": [{"from","to","fields"}]}
-- content_hash = SHA-256 of the canonical document text; equal hashes mean nothing changed.

CREATE TABLE sam_entity (
    entity_type         text        NOT NULL,
    entity_key          text        NOT NULL,
    parent_type         text,
    parent_key          text,
    content_hash        text        NOT NULL,
    document            jsonb       NOT NULL,
    created_run_id      bigint      REFERENCES import_run (id),
    changed_run_id      bigint      REFERENCES import_run (id),
    changed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_key)
);
CREATE INDEX sam_entity_parent ON sam_entity (parent_type, parent_key);

-- What the registry believed before: every superseded or deleted document, with the run that replaced it.
CREATE TABLE sam_entity_history (
    entity_type      text        NOT NULL,
    entity_key       text        NOT NULL,
    content_hash     text        NOT NULL,
    document         jsonb       NOT NULL,
    valid_from_run   bigint,
    replaced_by_run  bigint      NOT NULL REFERENCES import_run (id),
    replaced_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sam_entity_history_key ON sam_entity_history (entity_type, entity_key, replaced_at);
