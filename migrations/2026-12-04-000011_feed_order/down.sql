DROP TRIGGER events_hold_feed ON events;
DROP FUNCTION events_hold_feed();
DROP FUNCTION feed_horizon();
DROP INDEX events_unpublished_idx;
CREATE INDEX events_unpublished_idx ON events (txid, ordinal) WHERE seq IS NULL;
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
