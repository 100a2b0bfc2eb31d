-- Sales configuration: stages, lost reasons, funnels (ordered stages, team), classes,
-- articles, settings.

CREATE TABLE stages (
    id                  uuid         PRIMARY KEY,
    code                text         NOT NULL,
    name                text         NOT NULL,
    icon                text,
    probability         numeric(5,2) NOT NULL CHECK (probability BETWEEN 0 AND 100),
    outcome             text         NOT NULL CHECK (outcome IN ('open', 'won', 'lost')),
    requires_lines      boolean      NOT NULL DEFAULT false,
    warn_after_days     integer      CHECK (warn_after_days >= 1),
    critical_after_days integer      CHECK (critical_after_days >= 1),
    active              boolean      NOT NULL DEFAULT true,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),
    version             integer      NOT NULL DEFAULT 1,
    CHECK (outcome <> 'won' OR probability = 100),
    CHECK (outcome <> 'lost' OR probability = 0),
    CHECK (warn_after_days IS NULL OR critical_after_days IS NULL OR critical_after_days > warn_after_days)
);
CREATE UNIQUE INDEX stages_code_key ON stages (lower(code));
CREATE INDEX stages_name_idx ON stages (name, id);

CREATE TABLE lost_reasons (
    id         uuid        PRIMARY KEY,
    label      text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer     NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX lost_reasons_label_key ON lost_reasons (lower(label));

CREATE TABLE funnels (
    id                  uuid        PRIMARY KEY,
    name                text        NOT NULL,
    description         text,
    warn_after_days     integer     NOT NULL DEFAULT 7 CHECK (warn_after_days >= 1),
    critical_after_days integer     NOT NULL DEFAULT 14,
    metric_label        text,
    metric_formula      text,
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer     NOT NULL DEFAULT 1,
    CHECK (critical_after_days > warn_after_days)
);
CREATE UNIQUE INDEX funnels_name_key ON funnels (lower(name));

-- The ordered stages of a funnel; a stage may serve several funnels.
CREATE TABLE funnel_stages (
    funnel_id uuid    NOT NULL REFERENCES funnels (id) ON DELETE CASCADE,
    stage_id  uuid    NOT NULL REFERENCES stages (id) ON DELETE RESTRICT,
    position  integer NOT NULL,
    PRIMARY KEY (funnel_id, stage_id),
    UNIQUE (funnel_id, position)
);
CREATE INDEX funnel_stages_stage_idx ON funnel_stages (stage_id);

-- The sales team of a funnel.
CREATE TABLE funnel_members (
    funnel_id uuid NOT NULL REFERENCES funnels (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    PRIMARY KEY (funnel_id, user_id)
);
CREATE INDEX funnel_members_user_idx ON funnel_members (user_id);

-- KlassenID: routes a new opportunity to a funnel and an owner.
CREATE TABLE classes (
    id                text        PRIMARY KEY CHECK (id ~ '^[A-Z0-9_-]{1,30}$'),
    description       text,
    default_funnel_id uuid        REFERENCES funnels (id) ON DELETE RESTRICT,
    default_owner_id  uuid        REFERENCES users (id) ON DELETE RESTRICT,
    active            boolean     NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer     NOT NULL DEFAULT 1
);
CREATE INDEX classes_default_funnel_idx ON classes (default_funnel_id);
CREATE INDEX classes_default_owner_idx ON classes (default_owner_id);

CREATE TABLE articles (
    id          uuid          PRIMARY KEY,
    sku         text          NOT NULL,
    name        text          NOT NULL,
    description text,
    unit        text          NOT NULL,
    unit_price  numeric(14,2) NOT NULL CHECK (unit_price >= 0),
    currency    char(3)       NOT NULL,
    tax_rate    numeric(5,2)  NOT NULL DEFAULT 19 CHECK (tax_rate BETWEEN 0 AND 100),
    active      boolean       NOT NULL DEFAULT true,
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    version     integer       NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX articles_sku_key ON articles (sku);
CREATE INDEX articles_name_idx ON articles (name, id);
CREATE INDEX articles_search_idx ON articles USING gin (name gin_trgm_ops, sku gin_trgm_ops);

-- One row of company-wide settings.
CREATE TABLE settings (
    id                 boolean     PRIMARY KEY DEFAULT true CHECK (id),
    company_name       text        NOT NULL,
    company_address    text        NOT NULL,
    default_currency   char(3)     NOT NULL,
    quote_header_text  text        NOT NULL,
    quote_footer_text  text        NOT NULL,
    quote_valid_days   integer     NOT NULL CHECK (quote_valid_days BETWEEN 1 AND 365),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer     NOT NULL DEFAULT 1
);
INSERT INTO settings (company_name, company_address, default_currency, quote_header_text, quote_footer_text, quote_valid_days)
VALUES (
    'Meine Firma GmbH',
    'Musterstraße 1, 10115 Berlin, Deutschland',
    'EUR',
    'Vielen Dank für Ihre Anfrage. Gerne unterbreiten wir Ihnen folgendes Angebot:',
    'Wir freuen uns auf Ihren Auftrag. Es gelten unsere Allgemeinen Geschäftsbedingungen.',
    30
);
