-- Every resource is in the feed, also classes, whose id is a code: an event's subject is the
-- resource's id as text (a UUID or a class code).
ALTER TABLE events ALTER COLUMN subject_id TYPE text USING subject_id::text;
