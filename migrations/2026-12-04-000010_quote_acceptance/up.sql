-- Accepting a quote supersedes its sent siblings; the settings say whether it also wins the
-- opportunity.
ALTER TABLE quotes DROP CONSTRAINT quotes_status_check;
ALTER TABLE quotes ADD CONSTRAINT quotes_status_check
    CHECK (status IN ('draft', 'sent', 'accepted', 'rejected', 'superseded'));
ALTER TABLE settings ADD COLUMN win_on_quote_accept boolean NOT NULL DEFAULT false;
