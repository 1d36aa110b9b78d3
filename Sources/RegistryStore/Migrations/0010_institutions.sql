-- Healthcare institutions (pharmacies first, from the AFMPS list): one row per institution as a
-- source asserts it, a canonical document, and the identifiers it can be found by.

CREATE TABLE institution (
    key            text        PRIMARY KEY,   -- scheme:id of the asserting source, e.g. afmps:913007
    kind           text        NOT NULL,      -- CD-HCPARTY organisation code, e.g. orgpharmacy
    source         text        NOT NULL,      -- afmps, cobrha, ...
    document       jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    postcode       text,
    latitude       double precision,
    longitude      double precision,
    changed_run_id bigint      REFERENCES import_run (id),
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX institution_source ON institution (source);
CREATE INDEX institution_postcode ON institution (postcode);

CREATE TABLE institution_identifier (
    scheme          text NOT NULL,   -- afmps, cbe, nihii, ehp
    value           text NOT NULL,
    institution_key text NOT NULL REFERENCES institution (key) ON DELETE CASCADE,
    PRIMARY KEY (scheme, value, institution_key)
);
CREATE INDEX institution_identifier_key ON institution_identifier (institution_key);

-- Subscription filters on institution events: `postcode` (and `kind`) from the stored institution.
CREATE OR REPLACE FUNCTION subscription_event_values(p_field text, p_type text, p_key jsonb) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_type = 'institution' AND p_field IN ('postcode', 'kind') THEN coalesce((
            SELECT ARRAY[CASE p_field WHEN 'postcode' THEN i.postcode ELSE i.kind END] FROM institution i
            WHERE i.key = (SELECT k || ':' || v FROM jsonb_each_text(p_key) AS e(k, v) LIMIT 1)), '{}')
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
