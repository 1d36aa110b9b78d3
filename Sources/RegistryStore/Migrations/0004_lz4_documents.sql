-- Entity documents are large JSON values stored out of line (TOAST): lz4 compresses them several
-- times faster than the default pglz. Servers built without lz4 keep pglz.
DO $$
BEGIN
    ALTER TABLE sam_entity ALTER COLUMN document SET COMPRESSION lz4;
    ALTER TABLE sam_entity_history ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available; keeping the default TOAST compression';
END
$$;
