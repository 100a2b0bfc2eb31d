-- Quotes (Angebote): numbered revisions of an opportunity's lines with texts and totals; the
-- primary quote of an opportunity keeps its lines in step with the opportunity's.

CREATE SEQUENCE quote_number_seq;

CREATE TABLE quotes (
    id                  uuid          PRIMARY KEY,
    number              text          NOT NULL UNIQUE
                                      DEFAULT format_human_number('QT', nextval('quote_number_seq')),
    opportunity_id      uuid          NOT NULL REFERENCES opportunities (id) ON DELETE RESTRICT,
    -- The opportunity's partner when the quote was made: the addressee.
    business_partner_id uuid          NOT NULL REFERENCES business_partners (id) ON DELETE RESTRICT,
    revision            integer       NOT NULL CHECK (revision >= 1),
    -- 'expired' is not stored: a draft past valid_until reads as expired.
    status              text          NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'accepted', 'rejected')),
    is_primary          boolean       NOT NULL DEFAULT false,
    currency            char(3)       NOT NULL,
    quote_date          date          NOT NULL DEFAULT current_date,
    valid_until         date          NOT NULL,
    header_text         text          NOT NULL,
    customer_text       text,
    footer_text         text          NOT NULL,
    net_total           numeric(14,2) NOT NULL DEFAULT 0,
    tax_total           numeric(14,2) NOT NULL DEFAULT 0,
    gross_total         numeric(14,2) NOT NULL DEFAULT 0,
    sent_at             timestamptz,
    decided_at          timestamptz,
    created_by          text,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    version             integer       NOT NULL DEFAULT 1,
    UNIQUE (opportunity_id, revision)
);
ALTER SEQUENCE quote_number_seq OWNED BY quotes.number;
-- At most one primary quote per opportunity.
CREATE UNIQUE INDEX quotes_primary_key ON quotes (opportunity_id) WHERE is_primary;
CREATE INDEX quotes_created_idx ON quotes (created_at, id);
CREATE INDEX quotes_partner_idx ON quotes (business_partner_id, created_at, id);
CREATE INDEX quotes_status_idx ON quotes (status, created_at, id);

CREATE TABLE quote_lines (
    id               uuid          PRIMARY KEY,
    quote_id         uuid          NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    position         integer       NOT NULL,
    article_id       uuid          REFERENCES articles (id) ON DELETE RESTRICT,
    sku              text,
    description      text          NOT NULL,
    quantity         numeric(14,3) NOT NULL CHECK (quantity > 0),
    unit             text          NOT NULL,
    unit_price       numeric(14,2) NOT NULL CHECK (unit_price >= 0),
    discount_percent numeric(5,2)  NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
    tax_rate         numeric(5,2)  NOT NULL CHECK (tax_rate BETWEEN 0 AND 100),
    line_total       numeric(14,2) NOT NULL,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    version          integer       NOT NULL DEFAULT 1,
    UNIQUE (quote_id, position)
);
CREATE INDEX quote_lines_article_idx ON quote_lines (article_id) WHERE article_id IS NOT NULL;
