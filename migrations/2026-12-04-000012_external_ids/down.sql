ALTER TABLE activities DROP COLUMN external_id;
ALTER TABLE opportunities DROP COLUMN external_id;
ALTER TABLE business_partners DROP COLUMN external_id;
