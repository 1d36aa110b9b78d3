-- IDMP view of SAM: the mappings from SAM's codes to EMA SPOR (RMS terms, SMS substances), derived
-- in the database from what was imported, so they follow every SAM, RMS and SMS import:
--   idmp_sam_edqm          SAM dose-form and route codes → EDQM standard terms (the REF file's
--                          StandardForm/StandardRoute with standard="EDQM")
--   idmp_rms_for_edqm()    EDQM code → RMS term (the RMS source mappings of source EDQM, 100000073361)
--   idmp_sam_substance_sms SAM substances → SMS substances with the same name (English, folded)
--   idmp_ucum()            SAM strength units → UCUM codes, which RMS maps to unit terms (source 100000169812)
-- and idmp_amp(), which codes the AMPs valid on a date with them and says what blocks the rest.
-- Mappings/README.md describes the origins and choices.

-- A value the SAM importer stores as one object or as an array of them, as an array.
CREATE FUNCTION idmp_as_array(value jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN '[]'::jsonb
                WHEN jsonb_typeof(value) = 'array' THEN value ELSE jsonb_build_array(value) END
$$;

-- The fields of the SAM entity slice valid on `at` (from/to inclusive, either open), or NULL.
CREATE FUNCTION sam_fields_at(document jsonb, at date) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT s -> 'fields' FROM jsonb_array_elements(document -> 'slices') s
    WHERE coalesce(s ->> 'from', '0000-01-01') <= to_char(at, 'YYYY-MM-DD')
      AND coalesce(s ->> 'to', '9999-12-31') >= to_char(at, 'YYYY-MM-DD')
    ORDER BY s ->> 'from' DESC NULLS LAST LIMIT 1
$$;

CREATE VIEW idmp_sam_edqm AS
SELECT 'dose-form'::text AS kind, f ->> '@code' AS sam_code, e.document #>> '{key,code}' AS edqm_code
FROM sam_entity e, jsonb_array_elements(idmp_as_array(e.document #> '{slices,0,fields,PharmaceuticalForm}')) f
WHERE e.entity_type = 'standard_form' AND e.document #>> '{key,standard}' = 'EDQM'
UNION
SELECT 'route', r ->> '@code', e.document #>> '{key,code}'
FROM sam_entity e, jsonb_array_elements(idmp_as_array(e.document #> '{slices,0,fields,RouteOfAdministration}')) r
WHERE e.entity_type = 'standard_route' AND e.document #>> '{key,standard}' = 'EDQM';

-- The RMS term of an EDQM code within the given lists: a current term first, then the main mapping.
CREATE FUNCTION idmp_rms_for_edqm(edqm text, lists text[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object('termId', t.term_id, 'listId', t.list_id, 'name', t.name_en, 'status', t.status)
    FROM spor_rms_source_code x JOIN spor_rms_term t ON t.term_id = x.term_id
    WHERE x.source_id = '100000073361' AND x.code = edqm AND t.list_id = ANY (lists)
    ORDER BY t.status = 'CURRENT' DESC, x.main DESC, t.term_id LIMIT 1);
END
$$;

-- SAM writes units its own way (µg, ml, IU, UI); UCUM is case-sensitive (ug, mL, [IU]).
CREATE FUNCTION idmp_ucum(unit text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN unit IS NULL THEN NULL
        WHEN upper(replace(unit, '.', '')) IN ('IU', 'UI', 'IE') THEN '[IU]'
        ELSE regexp_replace(regexp_replace(replace(replace(unit, 'µ', 'u'), 'μ', 'u'), '(^|/|[0-9])ml($|/)', '\1mL\2', 'g'),
                            '(^|/)l($|/)', '\1L\2', 'g')
    END
$$;

CREATE VIEW idmp_sam_substance_sms AS
SELECT s.entity_key AS sam_code, s.document #>> '{slices,0,fields,Name,En}' AS name_en, m.substance_ids
FROM sam_entity s
LEFT JOIN LATERAL (
    SELECT array_agg(DISTINCT n.substance_id ORDER BY n.substance_id) AS substance_ids
    FROM spor_sms_substance_name n
    WHERE n.folded = lower(public.unaccent('public.unaccent'::regdictionary, s.document #>> '{slices,0,fields,Name,En}'))
) m ON true
WHERE s.entity_type = 'substance';

-- One coded form, route or packaging: its SAM code and name, the EDQM code and RMS term it maps to,
-- or a blocker {aspect, code, name, reason, detail} saying why not.
CREATE FUNCTION idmp_coded_item(aspect text, code text, name text, edqm text, term jsonb, lists text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'samCode', code, 'name', name, 'edqmCode', edqm, 'rms', term,
        'blocker', CASE
            WHEN edqm IS NULL THEN jsonb_build_object('aspect', aspect, 'code', code, 'name', name,
                'reason', 'no-edqm-standard', 'detail', 'SAM gives no EDQM standard term for this code')
            WHEN term IS NULL THEN jsonb_build_object('aspect', aspect, 'code', code, 'name', name,
                'reason', 'edqm-not-in-rms', 'detail', 'EDQM ' || edqm || ' has no term in the imported RMS list(s) ' || lists)
        END))
$$;

-- The IDMP codes of the AMPs valid on `at` (all of them when `codes` is NULL): per component its
-- dose forms, routes and active ingredients (SMS substance, strength unit as an RMS unit), every
-- blocker, and whether the AMP is fully coded (it has a component and nothing blocks). Set-based:
-- each mapping is read once per call, whatever the number of AMPs.
CREATE FUNCTION idmp_amp(codes text[], at date) RETURNS TABLE (amp_code text, idmp jsonb) LANGUAGE sql STABLE AS $$
    WITH amp AS MATERIALIZED (
        SELECT a.entity_key AS amp_code FROM sam_entity a
        WHERE a.entity_type = 'amp' AND (codes IS NULL OR a.entity_key = ANY (codes))
          AND sam_fields_at(a.document, at) IS NOT NULL),
    component AS MATERIALIZED (
        SELECT amp.amp_code, c.entity_key AS component_key, c.document #>> '{key,sequenceNr}' AS sequence_nr,
               sam_fields_at(c.document, at) AS fields
        FROM amp JOIN sam_entity c ON c.parent_type = 'amp' AND c.parent_key = amp.amp_code
                                   AND c.entity_type = 'amp_component'
        WHERE sam_fields_at(c.document, at) IS NOT NULL),
    -- RMS terms by EDQM code, per kind of list: a current term first, then the main mapping.
    rms_edqm AS MATERIALIZED (
        SELECT DISTINCT ON (x.code, g.kind) x.code, g.kind,
               jsonb_build_object('termId', t.term_id, 'listId', t.list_id, 'name', t.name_en, 'status', t.status) AS term
        FROM spor_rms_source_code x JOIN spor_rms_term t ON t.term_id = x.term_id,
             LATERAL (SELECT CASE WHEN t.list_id IN ('200000000004', '200000000006') THEN 'dose-form'
                                  WHEN t.list_id = '100000073345' THEN 'route' END AS kind) g
        WHERE x.source_id = '100000073361' AND g.kind IS NOT NULL
        ORDER BY x.code, g.kind, t.status = 'CURRENT' DESC, x.main DESC, t.term_id),
    ref_edqm AS MATERIALIZED (SELECT kind, sam_code, min(edqm_code) AS edqm_code FROM idmp_sam_edqm GROUP BY 1, 2),
    ref_name AS MATERIALIZED (
        SELECT CASE e.entity_type WHEN 'pharmaceutical_form' THEN 'dose-form' ELSE 'route' END AS kind,
               e.entity_key AS sam_code, e.document #>> '{slices,0,fields,Name,En}' AS name
        FROM sam_entity e WHERE e.entity_type IN ('pharmaceutical_form', 'route_of_administration')),
    form_item AS MATERIALIZED (
        SELECT c.component_key, k.kind, k.ord, k.item ->> '@code' AS code,
               coalesce(k.item #>> '{Name,En}', n.name) AS name,
               coalesce((SELECT s ->> '@code' FROM jsonb_array_elements(idmp_as_array(
                             k.item -> CASE k.kind WHEN 'dose-form' THEN 'StandardForm' ELSE 'StandardRoute' END)) s
                         WHERE s ->> '@standard' = 'EDQM' LIMIT 1), r.edqm_code) AS edqm
        FROM component c
        CROSS JOIN LATERAL (
            SELECT 'dose-form' AS kind, o AS ord, f AS item
            FROM jsonb_array_elements(idmp_as_array(c.fields -> 'PharmaceuticalForm')) WITH ORDINALITY AS x(f, o)
            UNION ALL
            SELECT 'route', o, f FROM jsonb_array_elements(idmp_as_array(c.fields -> 'RouteOfAdministration'))
                WITH ORDINALITY AS y(f, o)) k
        LEFT JOIN ref_name n ON n.kind = k.kind AND n.sam_code = k.item ->> '@code'
        LEFT JOIN ref_edqm r ON r.kind = k.kind AND r.sam_code = k.item ->> '@code'),
    coded_form AS (
        SELECT f.component_key, f.kind, f.ord,
               idmp_coded_item(f.kind, f.code, f.name, f.edqm, m.term,
                               CASE f.kind WHEN 'dose-form' THEN '200000000004, 200000000006' ELSE '100000073345' END) AS item
        FROM form_item f LEFT JOIN rms_edqm m ON m.code = f.edqm AND m.kind = f.kind),
    ingredient AS MATERIALIZED (
        SELECT c.component_key, i.entity_key, i.document #>> '{key,rank}' AS rank,
               sam_fields_at(i.document, at) AS fields
        FROM component c JOIN sam_entity i ON i.parent_type = 'amp_component' AND i.parent_key = c.component_key
                                           AND i.entity_type = 'real_actual_ingredient'),
    active AS MATERIALIZED (
        SELECT g.component_key, g.entity_key, g.rank, g.fields #>> '{Substance,@code}' AS code,
               coalesce(g.fields #>> '{Substance,Name,En}', s.document #>> '{slices,0,fields,Name,En}') AS name,
               g.fields #>> '{Strength,#text}' AS strength, g.fields #>> '{Strength,@unit}' AS unit
        FROM ingredient g
        LEFT JOIN sam_entity s ON s.entity_type = 'substance' AND s.entity_key = g.fields #>> '{Substance,@code}'
        WHERE g.fields ->> 'Type' = 'ACTIVE_SUBSTANCE'),
    sms AS MATERIALIZED (
        SELECT a.name, array_agg(DISTINCT n.substance_id ORDER BY n.substance_id) AS ids
        FROM (SELECT DISTINCT name FROM active WHERE name IS NOT NULL) a
        JOIN spor_sms_substance_name n ON n.folded = lower(public.unaccent('public.unaccent'::regdictionary, a.name))
        GROUP BY a.name),
    unit AS MATERIALIZED (
        SELECT u.unit, idmp_ucum(u.unit) AS ucum, (
            SELECT jsonb_build_object('termId', t.term_id, 'listId', t.list_id, 'name', t.name_en)
            FROM spor_rms_source_code x JOIN spor_rms_term t ON t.term_id = x.term_id
            WHERE x.source_id = '100000169812' AND x.code = idmp_ucum(u.unit)
            ORDER BY t.status = 'CURRENT' DESC, x.main DESC, t.term_id LIMIT 1) AS term
        FROM (SELECT DISTINCT unit FROM active WHERE unit IS NOT NULL) u),
    coded_ingredient AS (
        SELECT a.component_key, a.entity_key, jsonb_strip_nulls(jsonb_build_object(
            'rank', a.rank,
            'substance', jsonb_strip_nulls(jsonb_build_object(
                'samCode', a.code, 'name', a.name,
                'sms', CASE WHEN cardinality(m.ids) = 1 THEN jsonb_build_object(
                           'substanceId', m.ids[1], 'href', '/v1/spor/sms/substances/' || m.ids[1]) END,
                'blocker', CASE
                    WHEN a.name IS NULL THEN jsonb_build_object('aspect', 'substance', 'code', a.code,
                        'reason', 'no-english-name', 'detail', 'SAM gives no English name to match SMS names with')
                    WHEN m.ids IS NULL THEN jsonb_build_object('aspect', 'substance', 'code', a.code, 'name', a.name,
                        'reason', 'no-sms-match', 'detail', 'no imported SMS substance has this name')
                    WHEN cardinality(m.ids) > 1 THEN jsonb_build_object('aspect', 'substance', 'code', a.code,
                        'name', a.name, 'reason', 'ambiguous-sms-match',
                        'detail', 'SMS substances ' || array_to_string(m.ids, ', ') || ' all have this name')
                END)),
            'strength', CASE WHEN a.strength IS NOT NULL OR a.unit IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
                'value', a.strength, 'unit', a.unit, 'ucum', u.ucum, 'rms', u.term,
                'blocker', CASE WHEN a.unit IS NOT NULL AND u.term IS NULL THEN jsonb_build_object(
                    'aspect', 'unit', 'code', a.unit, 'reason', 'unit-not-in-rms',
                    'detail', 'UCUM ' || u.ucum || ' has no term in the imported RMS unit lists') END)) END)) AS item
        FROM active a LEFT JOIN sms m ON m.name = a.name LEFT JOIN unit u ON u.unit = a.unit),
    form_list AS (
        SELECT component_key,
               coalesce(jsonb_agg(item ORDER BY ord) FILTER (WHERE kind = 'dose-form'), '[]') AS dose_forms,
               coalesce(jsonb_agg(item ORDER BY ord) FILTER (WHERE kind = 'route'), '[]') AS routes
        FROM coded_form GROUP BY component_key),
    ingredient_list AS (
        SELECT component_key, jsonb_agg(item ORDER BY entity_key) AS ingredients
        FROM coded_ingredient GROUP BY component_key),
    coded_component AS (
        SELECT c.amp_code, c.sequence_nr, jsonb_build_object(
            'sequenceNr', c.sequence_nr, 'doseForms', coalesce(f.dose_forms, '[]'),
            'routes', coalesce(f.routes, '[]'), 'activeIngredients', coalesce(i.ingredients, '[]')) AS component
        FROM component c
        LEFT JOIN form_list f ON f.component_key = c.component_key
        LEFT JOIN ingredient_list i ON i.component_key = c.component_key),
    per_amp AS (
        SELECT amp.amp_code,
               coalesce(jsonb_agg(cc.component ORDER BY cc.sequence_nr) FILTER (WHERE cc.component IS NOT NULL),
                        '[]') AS components
        FROM amp LEFT JOIN coded_component cc ON cc.amp_code = amp.amp_code
        GROUP BY amp.amp_code)
    SELECT p.amp_code, jsonb_build_object(
        'components', p.components,
        'blockers', b.blockers,
        'fullyCoded', jsonb_array_length(p.components) > 0 AND jsonb_array_length(b.blockers) = 0)
    FROM per_amp p,
         LATERAL (SELECT CASE WHEN jsonb_array_length(p.components) = 0
                              THEN jsonb_build_array(jsonb_build_object('aspect', 'component', 'reason', 'no-component',
                                  'detail', 'the AMP has no component valid on the date'))
                              ELSE coalesce(jsonb_agg(DISTINCT x), '[]') END AS blockers
                  FROM jsonb_path_query(p.components, 'lax $.**.blocker') x) b
$$;

-- The packaging of an AMPP's components valid on `at`: SAM packaging type, its EDQM code (SAM
-- gives it inline) and the RMS packaging term.
CREATE FUNCTION idmp_ampp_packaging(cti text, at date) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'sequenceNr', c.document #>> '{key,sequenceNr}', 'samCode', p ->> '@code', 'name', p #>> '{Name,En}',
               'edqmCode', p ->> 'EdqmCode', 'rms', r.term,
               'blocker', CASE
                   WHEN p ->> 'EdqmCode' IS NULL THEN jsonb_build_object('aspect', 'packaging', 'code', p ->> '@code',
                       'name', p #>> '{Name,En}', 'reason', 'no-edqm-standard',
                       'detail', 'SAM gives no EDQM code for this packaging type')
                   WHEN r.term IS NULL THEN jsonb_build_object('aspect', 'packaging', 'code', p ->> '@code',
                       'name', p #>> '{Name,En}', 'reason', 'edqm-not-in-rms',
                       'detail', 'EDQM ' || (p ->> 'EdqmCode') || ' has no term in the imported RMS list(s) 100000073346')
               END)) ORDER BY c.entity_key), '[]')
    FROM sam_entity c,
         jsonb_array_elements(idmp_as_array(sam_fields_at(c.document, at) -> 'PackagingType')) p,
         LATERAL (SELECT idmp_rms_for_edqm(p ->> 'EdqmCode', ARRAY['100000073346']) AS term) r
    WHERE c.entity_type = 'ampp_component' AND c.parent_type = 'ampp' AND c.parent_key = cti
$$;

-- How far the AMPs valid on `at` are coded, per aspect, and the `limit` blockers that hold back most AMPs.
CREATE FUNCTION idmp_coverage(at date, blocker_limit int) RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH c AS MATERIALIZED (SELECT amp_code, idmp FROM idmp_amp(NULL, at)),
    b AS MATERIALIZED (SELECT c.amp_code, x FROM c, jsonb_array_elements(c.idmp -> 'blockers') x)
    SELECT jsonb_build_object(
        'amps', (SELECT count(*) FROM c),
        'fullyCodedAmps', (SELECT count(*) FROM c WHERE (c.idmp ->> 'fullyCoded')::boolean),
        'aspects', (
            SELECT jsonb_object_agg(a.aspect, jsonb_build_object(
                'ampsBlocked', (SELECT count(DISTINCT b.amp_code) FROM b WHERE b.x ->> 'aspect' = a.aspect),
                'codesBlocked', (SELECT count(DISTINCT b.x ->> 'code') FROM b WHERE b.x ->> 'aspect' = a.aspect)))
            FROM unnest(ARRAY['component', 'dose-form', 'route', 'substance', 'unit']) AS a(aspect)),
        'reasons', (
            SELECT coalesce(jsonb_agg(r ORDER BY (r ->> 'amps')::int DESC, r ->> 'aspect', r ->> 'reason'), '[]')
            FROM (SELECT jsonb_build_object('aspect', b.x ->> 'aspect', 'reason', b.x ->> 'reason',
                                            'amps', count(DISTINCT b.amp_code), 'codes', count(DISTINCT b.x ->> 'code')) r
                  FROM b GROUP BY b.x ->> 'aspect', b.x ->> 'reason') q),
        'blockers', (
            SELECT coalesce(jsonb_agg(r ORDER BY (r ->> 'amps')::int DESC, r ->> 'aspect', r ->> 'code'), '[]')
            FROM (SELECT b.x || jsonb_build_object('amps', count(DISTINCT b.amp_code), 'exampleAmp', min(b.amp_code)) r
                  FROM b GROUP BY b.x
                  ORDER BY count(DISTINCT b.amp_code) DESC, b.x ->> 'aspect', b.x ->> 'code' LIMIT blocker_limit) q))
$$;
