-- The feed in the order of the changes, per row too.
--
-- 000007 numbered published events in the order of their transactions' ids. A transaction
-- gets its id at its first write or row lock, long before it may wait for a row that a younger
-- transaction holds: a recomputation locks the funnel, then waits for an opportunity that a
-- stage move holds; it writes that opportunity after the move commits, yet its id is older, so
-- its event was numbered before the move's and a mirror applying the feed in order ended on
-- the older state.
--
-- Events are now numbered in the order they were written (`ordinal`, a sequence taken at
-- insert): a transaction that writes a row after another committed it also writes its event
-- after the other's event. What may be published is every committed event below the horizon:
-- the first ordinal of any transaction that has written events and is still running (each
-- such transaction holds a shared advisory lock keyed by its first event's ordinal, visible in
-- pg_locks). Transactions that wrote no event, and transactions in other databases, no longer
-- hold the feed.
CREATE FUNCTION events_hold_feed() RETURNS trigger
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF coalesce(current_setting('salesfunnel.holds_feed', true), '') = '' THEN
        -- 2^62 + ordinal: keys apart from the small ones of the migration and publish locks.
        PERFORM pg_advisory_xact_lock_shared(4611686018427387904 + NEW.ordinal);
        PERFORM set_config('salesfunnel.holds_feed', NEW.ordinal::text, true);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER events_hold_feed BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_hold_feed();

-- The first ordinal that a running transaction of this database may still commit, or null.
CREATE FUNCTION feed_horizon() RETURNS bigint
    LANGUAGE sql STABLE
AS $$
    SELECT min(((l.classid::bigint << 32) | l.objid::bigint) - 4611686018427387904)
    FROM pg_locks l
    WHERE l.locktype = 'advisory'
      AND l.objsubid = 1
      AND l.classid::bigint >= 1073741824
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;

DROP INDEX events_unpublished_idx;
CREATE INDEX events_unpublished_idx ON events (ordinal) WHERE seq IS NULL;

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
