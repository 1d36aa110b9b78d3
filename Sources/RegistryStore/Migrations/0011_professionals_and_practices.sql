-- Healthcare professionals (CoBRHA snapshots, merged across sources) and the practice register.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- What each source asserts about each actor: one row per (actor, source), replaced by that
-- source's next snapshot. The served documents are merged from these.
CREATE TABLE actor_fact (
    actor_type   text   NOT NULL,   -- professional | institution
    actor_key    text   NOT NULL,   -- the SSIN, or scheme:id of an organisation
    source       text   NOT NULL,   -- FPS-HEALTH, RIZIV-INAMI, ...
    document     jsonb  NOT NULL,
    content_hash text   NOT NULL,
    run_id       bigint REFERENCES import_run (id),
    PRIMARY KEY (actor_type, actor_key, source)
);
CREATE INDEX actor_fact_source ON actor_fact (source, actor_type);

-- One professional: `id` is public and reveals nothing (hcp_ + random hex), the SSIN is personal
-- data kept for the sensitive lookup only; `document` is the merge of every source's facts.
CREATE TABLE professional (
    id             text        PRIMARY KEY,
    ssin           text        NOT NULL UNIQUE,
    document       jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    changed_run_id bigint      REFERENCES import_run (id),
    changed_at     timestamptz NOT NULL DEFAULT now()
);

-- A person holds one NIHII per profession.
CREATE TABLE professional_nihii (
    nihii           text NOT NULL PRIMARY KEY,
    professional_id text NOT NULL REFERENCES professional (id) ON DELETE CASCADE,
    profession      text NOT NULL
);
CREATE INDEX professional_nihii_professional ON professional_nihii (professional_id);

-- The practice register: a professional (by NIHII, which also says the profession) at a place.
CREATE TABLE practice (
    key             text             PRIMARY KEY,
    nihii           text             NOT NULL,
    document        jsonb            NOT NULL,
    content_hash    text             NOT NULL,
    postcode        text             NOT NULL,
    latitude        double precision,
    longitude       double precision,
    institution_key text,
    valid_from      date             NOT NULL,
    valid_to        date,
    languages       text[]           NOT NULL DEFAULT '{}',
    competences     text[]           NOT NULL DEFAULT '{}',
    changed_run_id  bigint           REFERENCES import_run (id),
    changed_at      timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX practice_nihii ON practice (nihii);

-- Accent-, case- and particle-insensitive name key: letters only ("Van De Casteele" = "vandecasteele").
CREATE OR REPLACE FUNCTION registry_name_key(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, coalesce($1, ''))), '[^a-z]', '', 'g')
$$;

-- The spelling as written, only case and accents folded ("De Smet" ≠ "Desmet").
CREATE OR REPLACE FUNCTION registry_name_exact(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(trim(lower(public.unaccent('public.unaccent'::regdictionary, coalesce($1, '')))), '\s+', ' ', 'g')
$$;

-- Search rows: one practice with its professional's names, profession and qualifications,
-- rebuilt whenever the practice or the professional changes.
CREATE TABLE practice_search (
    practice_key    text    PRIMARY KEY REFERENCES practice (key) ON DELETE CASCADE,
    professional_id text,
    nihii           text    NOT NULL,
    profession      text,
    qualifications  text[]  NOT NULL DEFAULT '{}',
    languages       text[]  NOT NULL DEFAULT '{}',
    competences     text[]  NOT NULL DEFAULT '{}',
    postcode        text    NOT NULL,
    latitude        double precision,
    longitude       double precision,
    earth           earth,
    valid_from      date    NOT NULL,
    valid_to        date,
    family_name     text,
    given_name      text,
    family_exact    text    NOT NULL DEFAULT '',
    full_exact      text    NOT NULL DEFAULT '',
    family_key      text    NOT NULL DEFAULT '',
    full_key        text    NOT NULL DEFAULT ''
);
CREATE INDEX practice_search_family_trgm ON practice_search USING gin (family_key gin_trgm_ops);
CREATE INDEX practice_search_full_trgm ON practice_search USING gin (full_key gin_trgm_ops);
CREATE INDEX practice_search_earth ON practice_search USING gist (earth);
CREATE INDEX practice_search_profession_earth ON practice_search USING gist (profession, earth);
CREATE INDEX practice_search_postcode ON practice_search (postcode);
CREATE INDEX practice_search_professional ON practice_search (professional_id);
CREATE INDEX practice_search_nihii ON practice_search (nihii);
CREATE INDEX practice_search_name ON practice_search (family_key, full_key, practice_key);
-- The distinct name keys (family and "given family") of practice_search: similar names are found
-- here, among a few hundred thousand distinct strings, then their practices by key.
CREATE TABLE practice_name (name_key text PRIMARY KEY);
CREATE INDEX practice_name_trgm ON practice_name USING gist (name_key gist_trgm_ops);
-- Relevance tiers read these in key order and stop at the page size.
CREATE INDEX practice_search_family_exact ON practice_search (family_exact, practice_key);
CREATE INDEX practice_search_full_exact ON practice_search (full_exact, practice_key);
CREATE INDEX practice_search_family_key ON practice_search (family_key, practice_key);
CREATE INDEX practice_search_full_key ON practice_search (full_key, practice_key);

-- Subscription filters on provider events: `postcode` of a professional's practices (practice
-- events carry postcode and profession in their key already).
CREATE OR REPLACE FUNCTION subscription_event_values(p_field text, p_type text, p_key jsonb) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_type = 'professional' AND p_field = 'postcode' THEN coalesce((
            SELECT array_agg(DISTINCT pr.postcode) FROM practice pr
            JOIN professional_nihii n ON n.nihii = pr.nihii WHERE n.professional_id = p_key ->> 'id'), '{}')
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
