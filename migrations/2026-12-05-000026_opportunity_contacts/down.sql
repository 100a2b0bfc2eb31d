DROP INDEX activities_contact_person_idx;
ALTER TABLE activities DROP COLUMN contact_id;
DROP TABLE opportunity_contacts;
