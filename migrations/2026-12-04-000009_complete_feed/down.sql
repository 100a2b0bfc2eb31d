DELETE FROM events WHERE subject_id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
ALTER TABLE events ALTER COLUMN subject_id TYPE uuid USING subject_id::uuid;
