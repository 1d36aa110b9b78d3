-- SPOR OMS organisations (ORG-…) and locations (LOC-…): one row per record, the ids merged into it
-- (aliases) for look-ups by an old id, names folded for search.

CREATE TABLE spor_oms_record (
    id             text        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('organisation', 'location')),
    org_id         text,                      -- a location's organisation
    status         text,
    name           text,
    folded         text,                      -- registry_name_exact(name)
    document       jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    changed_run_id bigint      REFERENCES import_run (id),
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spor_oms_record_org ON spor_oms_record (org_id);
CREATE INDEX spor_oms_record_folded ON spor_oms_record USING gin (folded gin_trgm_ops);

CREATE TABLE spor_oms_alias (
    alias_id  text NOT NULL,
    record_id text NOT NULL REFERENCES spor_oms_record (id) ON DELETE CASCADE,
    PRIMARY KEY (alias_id, record_id)
);
CREATE INDEX spor_oms_alias_record ON spor_oms_alias (record_id);
