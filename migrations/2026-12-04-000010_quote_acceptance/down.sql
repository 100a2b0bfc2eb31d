ALTER TABLE settings DROP COLUMN win_on_quote_accept;
UPDATE quotes SET status = 'sent' WHERE status = 'superseded';
ALTER TABLE quotes DROP CONSTRAINT quotes_status_check;
ALTER TABLE quotes ADD CONSTRAINT quotes_status_check CHECK (status IN ('draft', 'sent', 'accepted', 'rejected'));
