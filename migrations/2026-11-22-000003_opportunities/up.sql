-- Opportunities with their lines and stage history, and activities.
--
-- Derived columns of an opportunity (status, probability, target_value, weighted_value,
-- line_count, quantity, last_contact_at, metric) are stored so that lists filter and sort on
-- them through indexes and reports sum them in SQL. They are rewritten in the transaction of
-- every change that affects them (see src/opportunities/derive.rs); health depends on the
-- clock and is computed when read.

-- The traffic light. An open opportunity is green while its last contact is fewer than
-- warn_after_days days ago, yellow while fewer than critical_after_days, then red; closed ones
-- have none. The stage's thresholds override the funnel's. Both functions are inlined by the
-- planner, so `last_contact_at <= health_cutoff(…)` can use an index.
CREATE FUNCTION health_cutoff(stage_days integer, funnel_days integer) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN now() - make_interval(days => coalesce(stage_days, funnel_days));

CREATE FUNCTION opportunity_health(status text, last_contact_at timestamptz, warn_cutoff timestamptz,
                                   critical_cutoff timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN status <> 'open' THEN NULL
        WHEN last_contact_at > warn_cutoff THEN 'green'
        WHEN last_contact_at > critical_cutoff THEN 'yellow'
        ELSE 'red'
    END;

CREATE SEQUENCE opportunity_number_seq;

CREATE TABLE opportunities (
    id                   uuid          PRIMARY KEY,
    number               text          NOT NULL UNIQUE
                                       DEFAULT format_human_number('OPP', nextval('opportunity_number_seq')),
    subject              text          NOT NULL,
    description          text,
    business_partner_id  uuid          NOT NULL REFERENCES business_partners (id) ON DELETE RESTRICT,
    class_id             text          NOT NULL REFERENCES classes (id) ON DELETE RESTRICT,
    funnel_id            uuid          NOT NULL REFERENCES funnels (id) ON DELETE RESTRICT,
    stage_id             uuid          NOT NULL REFERENCES stages (id) ON DELETE RESTRICT,
    owner_id             uuid          NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    currency             char(3)       NOT NULL,
    -- The outcome of the stage, copied at every move (a stage in use keeps its outcome).
    status               text          NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    probability_override numeric(5,2)  CHECK (probability_override BETWEEN 0 AND 100),
    probability          numeric(5,2)  NOT NULL CHECK (probability BETWEEN 0 AND 100),
    target_value         numeric(14,2) NOT NULL DEFAULT 0 CHECK (target_value >= 0),
    weighted_value       numeric(14,2) NOT NULL DEFAULT 0,
    line_count           integer       NOT NULL DEFAULT 0,
    quantity             numeric(16,3) NOT NULL DEFAULT 0,
    metric               numeric(20,2),
    expected_close_date  date,
    last_contact_at      timestamptz   NOT NULL DEFAULT now(),
    stage_entered_at     timestamptz   NOT NULL DEFAULT now(),
    closed_at            timestamptz,
    lost_reason_id       uuid          REFERENCES lost_reasons (id) ON DELETE RESTRICT,
    lost_note            text,
    erp_reference        text,
    erp_handed_off_at    timestamptz,
    created_by           text,
    created_at           timestamptz   NOT NULL DEFAULT now(),
    updated_at           timestamptz   NOT NULL DEFAULT now(),
    version              integer       NOT NULL DEFAULT 1,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status = 'lost' OR lost_reason_id IS NULL),
    CHECK (erp_reference IS NULL OR status = 'won')
);
ALTER SEQUENCE opportunity_number_seq OWNED BY opportunities.number;
-- Keyset pagination: one index per sort, and per filter with the default sort (-updated_at).
CREATE INDEX opportunities_updated_idx ON opportunities (updated_at, id);
CREATE INDEX opportunities_owner_idx ON opportunities (owner_id, updated_at, id);
CREATE INDEX opportunities_funnel_idx ON opportunities (funnel_id, updated_at, id);
CREATE INDEX opportunities_stage_idx ON opportunities (stage_id, updated_at, id);
CREATE INDEX opportunities_partner_idx ON opportunities (business_partner_id, updated_at, id);
CREATE INDEX opportunities_class_idx ON opportunities (class_id, updated_at, id);
CREATE INDEX opportunities_status_idx ON opportunities (status, updated_at, id);
-- Without a date an opportunity sorts last: the key is the date or 'infinity'.
CREATE INDEX opportunities_close_idx ON opportunities ((coalesce(expected_close_date, 'infinity'::date)), id);
CREATE INDEX opportunities_target_idx ON opportunities (target_value, id);
CREATE INDEX opportunities_weighted_idx ON opportunities (weighted_value, id);
CREATE INDEX opportunities_lost_reason_idx ON opportunities (lost_reason_id) WHERE lost_reason_id IS NOT NULL;
-- The traffic light of open opportunities: per funnel and stage, by last contact.
CREATE INDEX opportunities_health_idx ON opportunities (funnel_id, stage_id, last_contact_at)
    WHERE status = 'open';
CREATE INDEX opportunities_search_idx ON opportunities
    USING gin (subject gin_trgm_ops, number gin_trgm_ops);

-- Articles and quantities of an opportunity.
CREATE TABLE opportunity_lines (
    id               uuid          PRIMARY KEY,
    opportunity_id   uuid          NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
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
    UNIQUE (opportunity_id, position)
);
CREATE INDEX opportunity_lines_article_idx ON opportunity_lines (article_id) WHERE article_id IS NOT NULL;

-- Every stage an opportunity entered, from its creation on.
CREATE TABLE opportunity_stage_changes (
    id             uuid          PRIMARY KEY,
    opportunity_id uuid          NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
    from_stage_id  uuid          REFERENCES stages (id) ON DELETE RESTRICT,
    to_stage_id    uuid          NOT NULL REFERENCES stages (id) ON DELETE RESTRICT,
    probability    numeric(5,2)  NOT NULL,
    target_value   numeric(14,2) NOT NULL,
    lost_reason_id uuid          REFERENCES lost_reasons (id) ON DELETE RESTRICT,
    note           text,
    changed_by     text,
    changed_at     timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX opportunity_stage_changes_opportunity_idx ON opportunity_stage_changes (opportunity_id, changed_at, id);
CREATE INDEX opportunity_stage_changes_stage_idx ON opportunity_stage_changes (to_stage_id, changed_at);
CREATE INDEX opportunity_stage_changes_from_idx ON opportunity_stage_changes (from_stage_id) WHERE from_stage_id IS NOT NULL;

CREATE TABLE activities (
    id                  uuid        PRIMARY KEY,
    kind                text        NOT NULL
                                    CHECK (kind IN ('call', 'email', 'meeting', 'appointment', 'ticket', 'task', 'note')),
    subject             text        NOT NULL,
    body                text,
    business_partner_id uuid        NOT NULL REFERENCES business_partners (id) ON DELETE RESTRICT,
    opportunity_id      uuid        REFERENCES opportunities (id) ON DELETE RESTRICT,
    owner_id            uuid        REFERENCES users (id) ON DELETE RESTRICT,
    status              text        NOT NULL CHECK (status IN ('planned', 'done')),
    due_at              timestamptz,
    occurred_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer     NOT NULL DEFAULT 1,
    -- When it happened or is due: the order of timelines (newest first).
    timeline_at         timestamptz NOT NULL GENERATED ALWAYS AS (coalesce(occurred_at, due_at, created_at)) STORED,
    CHECK (status = 'planned' OR occurred_at IS NOT NULL)
);
CREATE INDEX activities_timeline_idx ON activities (timeline_at, id);
CREATE INDEX activities_partner_idx ON activities (business_partner_id, timeline_at, id);
CREATE INDEX activities_opportunity_idx ON activities (opportunity_id, timeline_at, id) WHERE opportunity_id IS NOT NULL;
CREATE INDEX activities_owner_idx ON activities (owner_id, timeline_at, id);
-- The latest contact of an opportunity (done call, email, meeting, appointment or ticket).
CREATE INDEX activities_contact_idx ON activities (opportunity_id, occurred_at)
    WHERE status = 'done' AND kind IN ('call', 'email', 'meeting', 'appointment', 'ticket');
