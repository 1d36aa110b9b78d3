-- Import runs of every domain, their quality findings, and the gap-free change feed.

CREATE TABLE import_run (
    id                   bigserial PRIMARY KEY,
    domain               text        NOT NULL,
    source               text        NOT NULL,
    source_version       text,
    source_id            text,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    duration_ms          bigint,
    outcome              text        NOT NULL DEFAULT 'running'
                         CHECK (outcome IN ('running', 'applied', 'refused', 'failed')),
    refusal_reason       text,
    files                jsonb       NOT NULL DEFAULT '[]',
    counts               jsonb       NOT NULL DEFAULT '{}',
    findings_by_severity jsonb       NOT NULL DEFAULT '{}',
    findings_total       bigint      NOT NULL DEFAULT 0,
    events_emitted       bigint      NOT NULL DEFAULT 0,
    first_event_seq      bigint,
    last_event_seq       bigint
);
CREATE INDEX import_run_domain_started ON import_run (domain, started_at DESC);

CREATE TABLE import_finding (
    run_id      bigint NOT NULL REFERENCES import_run (id) ON DELETE CASCADE,
    ordinal     integer NOT NULL,
    severity    text    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'fatal')),
    rule        text    NOT NULL,
    entity_type text,
    entity_key  text,
    file        text,
    line        integer,
    message     text    NOT NULL,
    PRIMARY KEY (run_id, ordinal)
);
CREATE INDEX import_finding_rule ON import_finding (run_id, rule);

-- One row holding the last sequence number handed out. Writers take it with UPDATE, which
-- serialises them until commit; a rolled-back import gives its numbers back, so the feed has no gaps.
CREATE TABLE change_event_counter (
    id       integer PRIMARY KEY CHECK (id = 1),
    last_seq bigint  NOT NULL
);
INSERT INTO change_event_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE change_event (
    seq            bigint      PRIMARY KEY,
    id             text        NOT NULL UNIQUE,
    type           text        NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    run_id         bigint      REFERENCES import_run (id),
    entity_type    text        NOT NULL,
    entity_key     text        NOT NULL,
    key            jsonb       NOT NULL,
    changed        text[]      NOT NULL DEFAULT '{}',
    effective_from date,
    href           text
);
CREATE INDEX change_event_type_seq ON change_event (type, seq);
CREATE INDEX change_event_entity ON change_event (entity_type, entity_key, seq);
