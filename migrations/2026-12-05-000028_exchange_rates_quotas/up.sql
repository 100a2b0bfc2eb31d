-- Exchange rates to the home currency (`settings.default_currency`) and sales quotas.

-- `rate` is how many units of the home currency one unit of `currency` is worth from
-- `valid_from` on, until the next row of the currency. The key's index, with the rate
-- included, answers `rate_on` with one index-only probe.
CREATE TABLE exchange_rates (
    currency   char(3)        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid_from date           NOT NULL,
    rate       numeric(20,10) NOT NULL CHECK (rate > 0),
    created_at timestamptz    NOT NULL DEFAULT now(),
    updated_at timestamptz    NOT NULL DEFAULT now(),
    version    integer        NOT NULL DEFAULT 1,
    PRIMARY KEY (currency, valid_from) INCLUDE (rate)
);

-- The rate of `p_currency` on `p_day`: 1 for the home currency, else the latest rate with
-- `valid_from` <= the day, NULL when there is none (a report lists such amounts as
-- unconverted, never guessed). One expression, for use inside aggregate queries.
CREATE FUNCTION rate_on(p_currency bpchar, p_day date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_currency = (SELECT s.default_currency FROM settings s) THEN 1::numeric
        ELSE (SELECT r.rate FROM exchange_rates r
              WHERE r.currency = p_currency AND r.valid_from <= p_day
              ORDER BY r.valid_from DESC LIMIT 1)
    END
$$;

-- A target per rep or manager (`owner_id`) or per funnel team (`funnel_id`), per month
-- (`2027-01`) or quarter (`2027-Q1`), for won value (home currency), won count, or won quantity
-- of one article.
CREATE TABLE quotas (
    id         uuid          PRIMARY KEY,
    owner_id   uuid          REFERENCES users (id),
    funnel_id  uuid          REFERENCES funnels (id),
    period     text          NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
    measure    text          NOT NULL CHECK (measure IN ('won_value', 'won_count', 'won_quantity')),
    article_id uuid          REFERENCES articles (id),
    target     numeric(17,3) NOT NULL CHECK (target >= 0),
    created_at timestamptz   NOT NULL DEFAULT now(),
    updated_at timestamptz   NOT NULL DEFAULT now(),
    version    integer       NOT NULL DEFAULT 1,
    CHECK ((owner_id IS NULL) <> (funnel_id IS NULL)),
    CHECK ((measure = 'won_quantity') = (article_id IS NOT NULL)),
    UNIQUE NULLS NOT DISTINCT (owner_id, funnel_id, period, measure, article_id)
);
CREATE INDEX quotas_funnel_idx ON quotas (funnel_id, period) WHERE funnel_id IS NOT NULL;
CREATE INDEX quotas_article_idx ON quotas (article_id) WHERE article_id IS NOT NULL;
CREATE INDEX quotas_period_idx ON quotas (period, id);
