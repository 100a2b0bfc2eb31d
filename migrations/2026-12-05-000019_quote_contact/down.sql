DROP INDEX quotes_contact_idx;
ALTER TABLE quotes DROP COLUMN contact_id;
