-- idmp_ampp_packaging answers every FHIR PackagedProductDefinition and AMPP lookup. As a SQL
-- function (not inlinable: it aggregates) its body, and sam_fields_at's inside it, were planned
-- again on every call (0.27 ms of a 0.35 ms pack read); in PL/pgSQL its one query, with the slice
-- selection of sam_fields_at written in as a LATERAL subquery, is planned once per connection
-- (0.06 ms). Same answers: the slice valid on `at` (from/to inclusive, latest `from` first).
CREATE OR REPLACE FUNCTION idmp_ampp_packaging(cti text, at date) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
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
    FROM sam_entity c
         CROSS JOIN LATERAL (
             SELECT s -> 'fields' AS fields FROM jsonb_array_elements(c.document -> 'slices') s
             WHERE coalesce(s ->> 'from', '0000-01-01') <= to_char(at, 'YYYY-MM-DD')
               AND coalesce(s ->> 'to', '9999-12-31') >= to_char(at, 'YYYY-MM-DD')
             ORDER BY s ->> 'from' DESC NULLS LAST LIMIT 1) f
         CROSS JOIN LATERAL jsonb_array_elements(idmp_as_array(f.fields -> 'PackagingType')) p
         CROSS JOIN LATERAL (SELECT idmp_rms_for_edqm(p ->> 'EdqmCode', ARRAY['100000073346']) AS term) r
    WHERE c.entity_type = 'ampp_component' AND c.parent_type = 'ampp' AND c.parent_key = cti);
END
$$;
