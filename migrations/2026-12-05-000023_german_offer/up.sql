-- The legal and bank lines of a German offer's footer (Handelsregister, Geschäftsführer,
-- USt-IdNr., Steuernummer, Bankverbindung, Kontakt). All optional: a company fills in what
-- applies to it; the API validates what can be validated (IBAN checksum, BIC, e-mail, URL).
ALTER TABLE settings
    ADD COLUMN register_court text,
    ADD COLUMN register_number text,
    ADD COLUMN managing_directors text,
    ADD COLUMN vat_id text,
    ADD COLUMN tax_number text,
    ADD COLUMN iban text,
    ADD COLUMN bic text,
    ADD COLUMN bank_name text,
    ADD COLUMN phone text,
    ADD COLUMN email text,
    ADD COLUMN website text;

-- An article's long text (technical details, scope of delivery), printed under the line's
-- description; lines keep their own copy, like the description.
ALTER TABLE articles ADD COLUMN long_description text;
ALTER TABLE opportunity_lines ADD COLUMN long_description text;
ALTER TABLE quote_lines ADD COLUMN long_description text;
