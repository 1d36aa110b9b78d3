-- What a SAM import reads is staged here, outside its transaction, instead of in temporary
-- tables: committed, a second connection can read it too, and a first import builds its search
-- index there while the first connection applies the entities and their events. Only the import
-- holding the SAM advisory lock uses these tables; it empties them when it starts and when it
-- ends. Unlogged: they are scratch, never worth a WAL record, and empty after a crash.
CREATE UNLOGGED TABLE sam_stage_entity (
    entity_type text, entity_key text, parent_type text, parent_key text, content_hash text,
    field_names text, first_from text, key_json text,
    name_langs text[], name_texts text[], name_days text[], document jsonb
) WITH (autovacuum_enabled = false);
CREATE UNLOGGED TABLE sam_stage_rejected (entity_type text, entity_key text) WITH (autovacuum_enabled = false);
CREATE INDEX sam_stage_rejected_key ON sam_stage_rejected (entity_type, entity_key);
CREATE UNLOGGED TABLE sam_stage_ref (
    rule text, severity text, from_type text, from_key text, target_type text, target_key text,
    file text, line integer
) WITH (autovacuum_enabled = false);
-- Documents are staged as jsonb: PostgreSQL parses them while the COPY streams (beside the
-- importer's parsing thread, on the other core) and the apply copies them, lz4-compressed as
-- sam_entity stores them (0004), without parsing (scale 1.0: 7.9 s -> 4.1 s to insert 700k).
DO $$ BEGIN
    ALTER TABLE sam_stage_entity ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
END $$;
