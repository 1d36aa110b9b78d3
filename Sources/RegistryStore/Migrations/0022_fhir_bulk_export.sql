-- FHIR Bulk Data export jobs (GET /fhir/$export): one row per kick-off, worked by any node's
-- export worker (claimed with a lease), its NDJSON files under the export directory.
CREATE TABLE fhir_export_job (
    id               text        PRIMARY KEY,
    client_id        text        NOT NULL,
    request_url      text        NOT NULL,
    types            text[]      NOT NULL,
    since            timestamptz,
    status           text        NOT NULL DEFAULT 'accepted'
                     CHECK (status IN ('accepted', 'running', 'completed', 'failed', 'cancelled')),
    progress         text,
    transaction_time timestamptz,
    output           jsonb       NOT NULL DEFAULT '[]',
    error            text,
    lease_owner      text,
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX fhir_export_job_client ON fhir_export_job (client_id, created_at DESC);
CREATE INDEX fhir_export_job_open ON fhir_export_job (created_at) WHERE status IN ('accepted', 'running');
