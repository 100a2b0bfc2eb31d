-- Contact persons of business partners: the people quotes are addressed to and calls are made
-- with. A partner has at most one primary contact; deleting a partner that still has contacts
-- is refused (409), as with its opportunities.
CREATE TABLE contacts (
    id                  uuid        PRIMARY KEY,
    business_partner_id uuid        NOT NULL REFERENCES business_partners (id) ON DELETE RESTRICT,
    salutation          text        CHECK (length(salutation) BETWEEN 1 AND 20),
    title               text        CHECK (length(title) BETWEEN 1 AND 50),
    first_name          text        CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name           text        NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    email               text,
    phone               text,
    mobile              text,
    position            text,
    is_primary          boolean     NOT NULL DEFAULT false,
    active              boolean     NOT NULL DEFAULT true,
    created_by          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer     NOT NULL DEFAULT 1
);
-- One primary contact per partner; a write that makes one primary demotes the previous one in
-- its transaction, so this only catches a bug.
CREATE UNIQUE INDEX contacts_one_primary_key ON contacts (business_partner_id) WHERE is_primary;
-- Keyset pagination: per partner by last name, across partners by last name and by update time.
CREATE INDEX contacts_partner_idx ON contacts (business_partner_id, last_name, id);
CREATE INDEX contacts_last_name_idx ON contacts (last_name, id);
CREATE INDEX contacts_updated_idx ON contacts (updated_at, id);
-- `q` searches first name, last name and e-mail by substring, as the partners' `q` does.
CREATE INDEX contacts_search_idx ON contacts
    USING gin (first_name gin_trgm_ops, last_name gin_trgm_ops, email gin_trgm_ops);
