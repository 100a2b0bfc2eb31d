ALTER TABLE quote_lines DROP COLUMN long_description;
ALTER TABLE opportunity_lines DROP COLUMN long_description;
ALTER TABLE articles DROP COLUMN long_description;
ALTER TABLE settings
    DROP COLUMN register_court,
    DROP COLUMN register_number,
    DROP COLUMN managing_directors,
    DROP COLUMN vat_id,
    DROP COLUMN tax_number,
    DROP COLUMN iban,
    DROP COLUMN bic,
    DROP COLUMN bank_name,
    DROP COLUMN phone,
    DROP COLUMN email,
    DROP COLUMN website;
