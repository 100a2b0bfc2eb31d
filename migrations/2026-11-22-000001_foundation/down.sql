DROP TABLE idempotency_keys;
DROP TABLE business_partners;
DROP TABLE users;
DROP FUNCTION format_human_number(text, bigint);
DROP EXTENSION IF EXISTS pg_trgm;
