-- Offline mirrors: the files built for them, and what a delta needs to rebuild a past version.

-- One row per file in the export directory (SQLite snapshots, NDJSON files); the builder writes
-- the file first and records it after, and retention forgets the record before deleting the file.
CREATE TABLE export_artifact (
    name        text        PRIMARY KEY,
    kind        text        NOT NULL,
    version     bigint      NOT NULL,
    entity_type text,
    size_bytes  bigint      NOT NULL,
    sha256      text        NOT NULL,
    meta        jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX export_artifact_kind_version ON export_artifact (kind, version DESC);

-- A superseded document's parent, so a delta can rebuild the rows of an entity deleted since
-- (rows recorded before this migration have none; the current row's parent is used instead).
ALTER TABLE sam_entity_history
    ADD COLUMN parent_type text,
    ADD COLUMN parent_key  text;
CREATE INDEX sam_entity_history_replaced ON sam_entity_history (entity_type, entity_key, replaced_by_run);
