-- The requests API nodes answer most, so that a starting node warms its cache with them.
CREATE TABLE hot_request (
    path     text PRIMARY KEY,
    hits     bigint NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hot_request_hits ON hot_request (hits DESC);
