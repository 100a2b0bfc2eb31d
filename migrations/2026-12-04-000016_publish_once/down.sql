-- The function as migration 000011 wrote it.
CREATE OR REPLACE FUNCTION publish_events() RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    published bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'publish_events() must run in a READ COMMITTED transaction';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('salesfunnel.publish_events'));
    -- A new statement, so a new snapshot taken after the lock. pg_locks is read live, the
    -- events under the snapshot: a transaction that commits in between is not seen and waits
    -- for the next publication; what is published now cannot depend on it, since no one
    -- writes a row after it before it commits.
    WITH base AS (
        SELECT coalesce(max(seq), 0) AS top FROM events
    ), horizon AS (
        SELECT coalesce(feed_horizon(), 9223372036854775807) AS ordinal
    ), ready AS (
        SELECT e.id, row_number() OVER (ORDER BY e.ordinal) AS n
        FROM events e, horizon h
        WHERE e.seq IS NULL AND e.ordinal < h.ordinal
    )
    UPDATE events e SET seq = base.top + ready.n
    FROM ready, base
    WHERE e.id = ready.id;
    GET DIAGNOSTICS published = ROW_COUNT;
    RETURN published;
END
$$;
