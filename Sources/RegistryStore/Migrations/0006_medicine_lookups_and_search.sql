-- What the medicines API reads besides primary keys and parents: reimbursement contexts by their
-- DMPP code, AMPs by their VMP, VMPs by their VMP group.
CREATE INDEX sam_entity_rmb_code ON sam_entity ((document #>> '{key,code}'))
    WHERE entity_type = 'reimbursement_context';
CREATE INDEX sam_entity_amp_vmp ON sam_entity ((document #>> '{attributes,vmpCode}'))
    WHERE entity_type = 'amp';
CREATE INDEX sam_entity_vmp_slices ON sam_entity USING gin ((document -> 'slices') jsonb_path_ops)
    WHERE entity_type = 'vmp';

-- The medicine search index: one row per distinct normalised name of an AMP, AMPP or VMP, with the
-- days on which the entity carried that name and the values the search filters on. It is derived
-- from sam_entity inside each import's transaction (RegistryStore/SAM/SAMSearchIndex.swift).
CREATE TABLE sam_search_entry (
    entity_type text          NOT NULL,
    entity_key  text          NOT NULL,
    amp_code    text,
    name        text          NOT NULL,
    -- lower(unaccent(name)); byte order so that a prefix is one index range
    name_norm   text          COLLATE "C" NOT NULL,
    langs       text[]        NOT NULL DEFAULT '{}',
    valid       datemultirange NOT NULL,
    codes       text[]        NOT NULL DEFAULT '{}',
    atc         text[]        NOT NULL DEFAULT '{}',
    ingredients text[]        NOT NULL DEFAULT '{}',
    companies   text[]        NOT NULL DEFAULT '{}',
    vmp_groups  text[]        NOT NULL DEFAULT '{}',
    envs        text[]        NOT NULL DEFAULT '{}'
);
CREATE INDEX sam_search_entity ON sam_search_entry (entity_type, entity_key);
CREATE INDEX sam_search_amp ON sam_search_entry (amp_code);
CREATE INDEX sam_search_prefix ON sam_search_entry (name_norm, entity_type, entity_key);
CREATE INDEX sam_search_trigram ON sam_search_entry USING gin (name_norm gin_trgm_ops);
CREATE INDEX sam_search_codes ON sam_search_entry USING gin (codes);

-- The days a stored slice {"from","to"} covers ('to' inclusive, either end open); empty when reversed.
CREATE FUNCTION sam_slice_days(slice jsonb) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN (slice ->> 'from')::date > (slice ->> 'to')::date THEN 'empty'::daterange
                ELSE daterange((slice ->> 'from')::date, (slice ->> 'to')::date, '[]') END
$$;

-- The names a stored slice carries in the given fields: multilingual objects give one row per
-- language ({"Fr": ..., "Nl": ...}), plain strings one row without language.
CREATE FUNCTION sam_slice_names(slice jsonb, fields text[])
RETURNS TABLE (lang text, name text, norm text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT lower(t.key), t.value, lower(unaccent(t.value))
    FROM unnest(fields) f(name),
         jsonb_each_text(CASE WHEN jsonb_typeof(slice -> 'fields' -> f.name) = 'object'
                              THEN slice -> 'fields' -> f.name ELSE '{}' END) t
    UNION ALL
    SELECT NULL, slice -> 'fields' ->> f.name, lower(unaccent(slice -> 'fields' ->> f.name))
    FROM unnest(fields) f(name)
    WHERE jsonb_typeof(slice -> 'fields' -> f.name) = 'string'
$$;
