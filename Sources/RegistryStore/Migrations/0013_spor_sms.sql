-- SPOR SMS substances: one row per substance id (its document holds the preferred name, synonyms
-- and moiety) and every name folded for search and for matching SAM substances by name.

CREATE TABLE spor_sms_substance (
    substance_id   text        PRIMARY KEY,
    name           text        NOT NULL,
    document       jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    changed_run_id bigint      REFERENCES import_run (id),
    changed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spor_sms_substance_name (
    substance_id text    NOT NULL REFERENCES spor_sms_substance (substance_id) ON DELETE CASCADE,
    name         text    NOT NULL,
    folded       text    NOT NULL,   -- lower(unaccent(name)): what q= and the SAM name match compare
    preferred    boolean NOT NULL,
    PRIMARY KEY (substance_id, name)
);
CREATE INDEX spor_sms_substance_name_folded ON spor_sms_substance_name (folded);
CREATE INDEX spor_sms_substance_name_trgm ON spor_sms_substance_name USING gin (folded gin_trgm_ops);
