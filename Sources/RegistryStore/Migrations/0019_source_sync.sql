-- Source synchronisation: where each import came from, and each source's sync state.

-- What the sync downloaded for a run (NULL for imports of a local file by hand). The run's row is
-- completed in the import's own transaction, so "the version imported" is never ahead of the data.
ALTER TABLE import_run
    ADD COLUMN sync_source      text,
    ADD COLUMN upstream_version text,
    ADD COLUMN upstream_url     text,
    ADD COLUMN download_bytes   bigint,
    ADD COLUMN download_sha256  text;
CREATE INDEX import_run_sync_source ON import_run (sync_source, id DESC) WHERE sync_source IS NOT NULL;

-- One row per configured source: the last check and what it found. The imported version is
-- derived from import_run (applied runs of the source), not stored here.
CREATE TABLE source_sync (
    source                 text PRIMARY KEY,
    domain                 text NOT NULL,
    last_check_at          timestamptz,
    last_success_check_at  timestamptz,
    last_outcome           text,
    last_error             text,
    next_check_at          timestamptz,
    upstream_version       text,
    -- What the next check sends or compares: per document URL its ETag and Last-Modified (a
    -- conditional GET), per drop-folder file its size and modification time.
    validators             jsonb NOT NULL DEFAULT '{}',
    archive                jsonb NOT NULL DEFAULT '[]',
    updated_at             timestamptz NOT NULL DEFAULT now()
);
