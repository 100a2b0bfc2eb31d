-- The person a quote is addressed to ("z. Hd."), a contact of its partner. Deleting a contact
-- that a quote names is refused (409): the quote's PDF must stay reproducible.
ALTER TABLE quotes ADD COLUMN contact_id uuid REFERENCES contacts (id) ON DELETE RESTRICT;
-- Serves the foreign key's check when a contact is deleted.
CREATE INDEX quotes_contact_idx ON quotes (contact_id) WHERE contact_id IS NOT NULL;
