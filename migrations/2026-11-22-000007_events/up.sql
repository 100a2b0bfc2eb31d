-- The transactional outbox: every change writes its event in the transaction of the change.
--
-- An event gets its feed position (`seq`) only when it is published, not when it is written:
-- transactions commit out of the order in which they write, so a sequence value taken at
-- insert time would let a consumer that polls with `after=<last seq>` skip an event whose
-- transaction commits after a later-numbered one. `publish_events()` numbers events in the
-- order of their writing transaction (`txid`), and only events of transactions older than
-- every transaction still running (the snapshot's xmin): no event can later appear below a
-- published position. Publishers are serialised by an advisory lock.
CREATE TABLE events (
    id          uuid        PRIMARY KEY,
    -- Write order inside one transaction.
    ordinal     bigint      GENERATED ALWAYS AS IDENTITY,
    txid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq         bigint      UNIQUE,
    type        text        NOT NULL,
    subject_id  uuid        NOT NULL,
    actor       text,
    data        jsonb       NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_unpublished_idx ON events (txid, ordinal) WHERE seq IS NULL;
CREATE INDEX events_type_idx ON events (type, seq) WHERE seq IS NOT NULL;

-- Numbers every event whose transaction has ended, in transaction order, after the highest
-- number given so far. Returns how many it numbered.
CREATE FUNCTION publish_events() RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    published bigint;
BEGIN
    -- Under REPEATABLE READ or SERIALIZABLE the transaction's one snapshot predates the lock:
    -- it would miss the numbers the publisher we waited for gave, and give them again.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'publish_events() must run in a READ COMMITTED transaction';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('salesfunnel.publish_events'));
    -- A new statement, so a new snapshot taken after the lock: it sees every event that an
    -- earlier publisher saw, and its xmin is at least theirs.
    WITH base AS (
        SELECT coalesce(max(seq), 0) AS top FROM events
    ), ready AS (
        SELECT id, row_number() OVER (ORDER BY txid, ordinal) AS n
        FROM events
        WHERE seq IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot())
    )
    UPDATE events e SET seq = base.top + ready.n
    FROM ready, base
    WHERE e.id = ready.id;
    GET DIAGNOSTICS published = ROW_COUNT;
    RETURN published;
END
$$;
