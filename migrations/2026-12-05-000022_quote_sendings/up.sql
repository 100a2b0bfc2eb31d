-- Quotes reach the customer: the e-mail texts (templates with {{ quote.number }} placeholders),
-- every sending as it left, the links of the online acceptance page, and who decided online.
ALTER TABLE settings
    ADD COLUMN quote_email_subject text NOT NULL
        DEFAULT 'Ihr Angebot {{ quote.number }}: {{ opportunity.subject }}',
    ADD COLUMN quote_email_text text NOT NULL
        DEFAULT E'{{ greeting }}\n\nvielen Dank für Ihr Interesse. Anbei erhalten Sie unser Angebot {{ quote.number }} über {{ quote.gross_total }}, gültig bis {{ quote.valid_until }}.\n{% if acceptance_link %}\nSie können das Angebot hier ansehen und direkt annehmen:\n{{ acceptance_link }}\n{% endif %}\nMit freundlichen Grüßen\n{{ sender.name }}\n{{ company.name }}';

-- One row per e-mail that the SMTP server accepted (or the embedded default wrote to a file).
CREATE TABLE quote_sendings (
    id uuid PRIMARY KEY,
    quote_id uuid NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    message_id text NOT NULL,
    to_addresses text[] NOT NULL,
    cc_addresses text[] NOT NULL,
    subject text NOT NULL,
    -- SHA-256 (hex) of the PDF bytes attached; null when the e-mail carried no PDF.
    pdf_sha256 text,
    acceptance_link boolean NOT NULL,
    -- The `email` activity the sending recorded on the opportunity.
    activity_id uuid REFERENCES activities (id) ON DELETE SET NULL,
    sent_by text NOT NULL,
    sent_at timestamptz NOT NULL
);
CREATE INDEX quote_sendings_quote_idx ON quote_sendings (quote_id, sent_at, id);
CREATE INDEX quote_sendings_activity_idx ON quote_sendings (activity_id) WHERE activity_id IS NOT NULL;

-- The links of the public quote page. Only the SHA-256 of a token is stored: a database dump
-- does not hand out working links.
CREATE TABLE quote_links (
    token_sha256 bytea PRIMARY KEY,
    quote_id uuid NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX quote_links_quote_idx ON quote_links (quote_id);

-- A decision the customer took on the public page: the name typed, the client's address and
-- user agent (decided_at holds the time).
ALTER TABLE quotes
    ADD COLUMN decided_by_name text,
    ADD COLUMN decided_from text,
    ADD COLUMN decided_user_agent text;
