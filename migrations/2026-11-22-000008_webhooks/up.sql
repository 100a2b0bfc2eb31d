-- Webhooks: each published event (one with a `seq`, see 000007_events) is POSTed, signed, to
-- every active webhook whose `event_types` match, in `seq` order per webhook, with retries.

-- A time-ordered UUID (version 7) made in SQL, for deliveries created by an INSERT … SELECT.
CREATE FUNCTION gen_uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE
AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

CREATE TABLE webhooks (
    id          uuid        PRIMARY KEY,
    url         text        NOT NULL CHECK (url ~ '^https?://' AND char_length(url) <= 2000),
    -- Event type names, or '*' for every type; never empty.
    event_types text[]      NOT NULL CHECK (cardinality(event_types) >= 1),
    -- The HMAC-SHA256 key. Write-only through the API; kept in clear text because signing needs it.
    secret      text        NOT NULL CHECK (char_length(secret) >= 16),
    active      boolean     NOT NULL DEFAULT true,
    description text,
    -- The feed position up to which events have been fanned out to this webhook (whatever
    -- `active` was). Starts at the end of the feed when the webhook is created: no replay.
    last_seq    bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer     NOT NULL DEFAULT 1
);

-- One row per (webhook, event): the delivery's state. Pending rows are claimed by workers with
-- FOR UPDATE SKIP LOCKED; a claim counts the attempt and pushes `next_attempt_at` forward by a
-- lease, so another worker sees the row as not due while the HTTP request runs.
CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY,
    webhook_id       uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_seq        bigint      NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    -- When a pending delivery is due (or its lease ends); NULL once it is settled.
    next_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    UNIQUE (webhook_id, event_id)
);
-- The worker's claim: due pending rows, oldest due first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Order per webhook: a pending delivery waits while an earlier event's delivery is pending.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, event_seq) WHERE status = 'pending';
-- The deliveries list, newest event first.
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, event_seq);
-- Deleting an event (retention) finds its deliveries.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- One row per HTTP attempt, whatever its outcome.
CREATE TABLE webhook_delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    started_at  timestamptz NOT NULL,
    duration_ms integer     NOT NULL,
    -- The receiver's HTTP status, or NULL when there was no response (`error` says why).
    status_code integer,
    error       text,
    PRIMARY KEY (delivery_id, attempt)
);
