-- Foundation: human numbers, users, business partners, idempotency keys.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Formats a human number such as BP-000001; grows past six digits instead of truncating.
CREATE FUNCTION format_human_number(prefix text, n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN prefix || '-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END;

CREATE TABLE users (
    id           uuid        PRIMARY KEY,
    email        text        NOT NULL,
    display_name text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('admin', 'manager', 'rep', 'viewer', 'integration')),
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer     NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_idx ON users (role, id);

CREATE SEQUENCE business_partner_number_seq;

CREATE TABLE business_partners (
    id          uuid        PRIMARY KEY,
    number      text        NOT NULL UNIQUE
                            DEFAULT format_human_number('BP', nextval('business_partner_number_seq')),
    kind        text        NOT NULL CHECK (kind IN ('lead', 'customer')),
    name        text        NOT NULL,
    email       text,
    phone       text,
    website     text,
    street      text,
    postal_code text,
    city        text,
    country     text,
    vat_id      text,
    owner_id    uuid        REFERENCES users (id) ON DELETE RESTRICT,
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer     NOT NULL DEFAULT 1
);
ALTER SEQUENCE business_partner_number_seq OWNED BY business_partners.number;
-- Keyset pagination: an index per sort order and per filter + sort, id as the tie-breaker.
CREATE INDEX business_partners_name_idx ON business_partners (name, id);
CREATE INDEX business_partners_created_idx ON business_partners (created_at, id);
CREATE INDEX business_partners_updated_idx ON business_partners (updated_at, id);
CREATE INDEX business_partners_owner_idx ON business_partners (owner_id, name, id);
CREATE INDEX business_partners_kind_idx ON business_partners (kind, name, id);
-- `q` searches name and number by substring.
CREATE INDEX business_partners_search_idx ON business_partners
    USING gin (name gin_trgm_ops, number gin_trgm_ops);

-- Idempotency-Key replay store: one row per (caller, method and path, key).
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       smallint    NOT NULL DEFAULT 0,
    location     text,
    etag         text,
    body         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
