-- API clients with scopes, the audit log, webhook subscriptions, their deliveries and attempts.

CREATE TABLE api_client (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    token_hash  text        NOT NULL UNIQUE,   -- SHA-256 of the bearer token; the token itself is never stored
    scopes      text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE audit_entry (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    client_id  text,                   -- null when the caller presented no valid token
    action     text        NOT NULL,   -- e.g. subscription.create, client.revoke, providers.read
    target     text,                   -- what was acted on (a subscription id, a path)
    outcome    text        NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
    status     integer,                -- HTTP status for requests
    detail     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_entry_at ON audit_entry (at DESC, id DESC);
CREATE INDEX audit_entry_client ON audit_entry (client_id, id DESC);

CREATE TABLE subscription (
    id              text        PRIMARY KEY,
    client_id       text        NOT NULL REFERENCES api_client (id),
    url             text        NOT NULL,
    types           text[]      NOT NULL,     -- event type patterns, `*` wildcards
    filter          jsonb       NOT NULL DEFAULT '{}',
    payload         text        NOT NULL DEFAULT 'thin' CHECK (payload IN ('thin', 'full')),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
    status_reason   text,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- The last feed position examined: every event up to it was delivered, dead-lettered,
    -- queued as a delivery below, or did not match.
    cursor_seq      bigint      NOT NULL,
    -- Set at the first failure since the last success; 5 days of it disables the subscription.
    failing_since   timestamptz,
    -- A dispatcher works on one subscription at a time, holding this lease (no open transaction).
    lease_owner     text,
    lease_until     timestamptz
);
CREATE INDEX subscription_client ON subscription (client_id);
CREATE INDEX subscription_active ON subscription (cursor_seq) WHERE status = 'active';

-- Signing secrets: the current one has no expiry; a rotated one signs until expires_at.
CREATE TABLE subscription_secret (
    subscription_id text        NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    secret          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at      timestamptz,
    PRIMARY KEY (subscription_id, secret)
);

-- One message to one subscription. The queue of a subscription is its rows in status pending or
-- retrying, sent in id order; the head blocks the rest until it succeeds or is dead-lettered.
CREATE TABLE delivery (
    id              bigserial   PRIMARY KEY,
    subscription_id text        NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind IN ('event', 'replay', 'ping')),
    event_seq       bigint,
    message_id      text        NOT NULL,   -- webhook-id: the event id, the same on every retry and replay
    event_type      text        NOT NULL,
    body            text,                   -- the exact bytes signed and sent; built at the first attempt when null

    status          text        NOT NULL CHECK (status IN ('pending', 'retrying', 'succeeded', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    retry_base      integer     NOT NULL DEFAULT 0,   -- attempts before the last manual retry: the schedule restarts
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    last_error      text
);
CREATE INDEX delivery_queue ON delivery (subscription_id, id) WHERE status IN ('pending', 'retrying');
CREATE INDEX delivery_subscription ON delivery (subscription_id, id DESC);
CREATE INDEX delivery_created ON delivery (created_at);

CREATE TABLE delivery_attempt (
    delivery_id    bigint      NOT NULL REFERENCES delivery (id) ON DELETE CASCADE,
    attempt        integer     NOT NULL,
    at             timestamptz NOT NULL,
    target_address text,                -- the address connected to, after the SSRF check
    status_code    integer,             -- null when no HTTP response came (refused, timeout, reset)
    latency_ms     double precision,
    response_body  text,                -- first 4 KB
    error          text,
    dispatcher     text,
    PRIMARY KEY (delivery_id, attempt)
);

-- The values of one filter field for an event: a member of the event key, or `atc`, the
-- medicine's current ATC codes (from the search index) for AMP, AMPP and DMPP events.
CREATE FUNCTION subscription_event_values(p_field text, p_type text, p_key jsonb) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_field = 'atc' THEN coalesce((
            SELECT array_agg(DISTINCT x.a) FROM (
                SELECT unnest(s.atc) AS a FROM sam_search_entry s
                WHERE p_type = 'amp' AND s.entity_type = 'amp' AND s.entity_key = p_key ->> 'code'
                UNION ALL
                SELECT unnest(s.atc) FROM sam_search_entry s
                WHERE p_type = 'ampp' AND s.entity_type = 'ampp' AND s.entity_key = p_key ->> 'ctiExtended'
                UNION ALL
                SELECT unnest(s.atc) FROM sam_search_entry s
                WHERE p_type = 'dmpp' AND s.entity_type = 'ampp' AND s.codes @> ARRAY[p_key ->> 'code']) x), '{}')
        WHEN jsonb_typeof(p_key -> p_field) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(p_key -> p_field))
        WHEN jsonb_typeof(p_key -> p_field) IN ('string', 'number', 'boolean') THEN ARRAY[p_key ->> p_field]
        ELSE '{}'::text[]
    END
$$;

-- A subscription filter (see SubscriptionFilter.swift): every field must have a value that is
-- `in` its list or starts with one of its `prefix`es.
CREATE FUNCTION subscription_filter_matches(p_filter jsonb, p_type text, p_key jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_filter = '{}'::jsonb OR NOT EXISTS (
        SELECT 1 FROM jsonb_each(p_filter) f(field, cond)
        WHERE NOT EXISTS (
            SELECT 1 FROM unnest(subscription_event_values(f.field, p_type, p_key)) v
            WHERE (f.cond ? 'in' AND v IN (SELECT jsonb_array_elements_text(f.cond -> 'in')))
               OR (f.cond ? 'prefix' AND EXISTS (
                       SELECT 1 FROM jsonb_array_elements_text(f.cond -> 'prefix') p WHERE starts_with(v, p)))))
$$;
