-- Effective-date events: the days whose sam.*.effective events were emitted (each exactly once),
-- and the lookup link of a SAM entity, shared by import events and effective-date events.

CREATE TABLE effective_day (
    day          date        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now(),
    events       bigint      NOT NULL DEFAULT 0
);

CREATE FUNCTION sam_event_href(p_type text, p_key jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_type
        WHEN 'amp' THEN '/v1/medicines/amp/' || (p_key ->> 'code')
        WHEN 'ampp' THEN '/v1/medicines/ampp/' || (p_key ->> 'ctiExtended')
        WHEN 'dmpp' THEN '/v1/medicines/cnk/' || (p_key ->> 'code') || '?env=' || (p_key ->> 'deliveryEnvironment')
        WHEN 'vmp' THEN '/v1/medicines/vmp/' || (p_key ->> 'code')
        WHEN 'vmp_group' THEN '/v1/medicines/vmp-groups/' || (p_key ->> 'code')
        WHEN 'company' THEN '/v1/companies/' || (p_key ->> 'actorNr')
    END
$$;
