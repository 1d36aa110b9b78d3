-- The run ids on SAM entities, their history and change events are written only by the import
-- that inserted the import_run row, in the same transaction, and import runs are never deleted.
-- As foreign keys they were checked row by row: 1.4 million lookups of import_run for a first SAM
-- import (5.5 s of 14 s inserting 700k entities) and another 700k for its change events.
ALTER TABLE sam_entity DROP CONSTRAINT sam_entity_created_run_id_fkey;
ALTER TABLE sam_entity DROP CONSTRAINT sam_entity_changed_run_id_fkey;
ALTER TABLE sam_entity_history DROP CONSTRAINT sam_entity_history_replaced_by_run_fkey;
ALTER TABLE change_event DROP CONSTRAINT change_event_run_id_fkey;
