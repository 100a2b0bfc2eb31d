-- Report cells: opportunities counted and summed per funnel, stage, owner, class, currency,
-- status, day and lost reason, so that the pipeline, owners, forecast and win/loss reports add
-- up a few thousand cells instead of a million opportunities.
--
-- The day is the expected close date of an open opportunity and the day (UTC) a closed one
-- closed. Triggers on `opportunities` write the change of every statement as signed deltas into
-- `opportunity_cell_deltas` (insert only: concurrent writers never wait for each other there);
-- `compact_opportunity_cells()` folds the deltas into `opportunity_cells`. A report reads both.
CREATE TABLE opportunity_cells (
    funnel_id      uuid    NOT NULL,
    stage_id       uuid    NOT NULL,
    owner_id       uuid    NOT NULL,
    class_id       text    NOT NULL,
    currency       char(3) NOT NULL,
    status         text    NOT NULL,
    day            date,
    lost_reason_id uuid,
    opportunities  bigint  NOT NULL,
    target_value   numeric NOT NULL,
    weighted_value numeric NOT NULL,
    metric         numeric NOT NULL,
    -- How many of them have a metric (the sum is null when none has).
    metric_count   bigint  NOT NULL,
    -- Days from creation to close, summed over the closed ones.
    close_days     numeric NOT NULL,
    UNIQUE NULLS NOT DISTINCT (funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id)
);

CREATE TABLE opportunity_cell_deltas (LIKE opportunity_cells);

-- Adds the cells of `added` and takes away those of `removed`, as deltas; changes that cancel
-- out (an update that touched no counted column) write nothing.
CREATE FUNCTION record_opportunity_cells(added opportunities[], removed opportunities[]) RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    INSERT INTO opportunity_cell_deltas
    SELECT funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id,
           sum(sign), sum(sign * target_value), sum(sign * weighted_value), coalesce(sum(sign * metric), 0),
           coalesce(sum(sign) FILTER (WHERE metric IS NOT NULL), 0), coalesce(sum(sign * close_days), 0)
    FROM (
        SELECT o.sign, o.funnel_id, o.stage_id, o.owner_id, o.class_id, o.currency, o.status,
               CASE WHEN o.status = 'open' THEN o.expected_close_date
                    ELSE (o.closed_at AT TIME ZONE 'UTC')::date END AS day,
               o.lost_reason_id, o.target_value, o.weighted_value, o.metric,
               extract(epoch FROM o.closed_at - o.created_at) / 86400 AS close_days
        FROM (SELECT 1 AS sign, a.* FROM unnest(added) a UNION ALL SELECT -1, r.* FROM unnest(removed) r) o
    ) signed
    GROUP BY funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id
    HAVING sum(sign) <> 0 OR sum(sign * target_value) <> 0 OR sum(sign * weighted_value) <> 0
        OR coalesce(sum(sign * metric), 0) <> 0 OR coalesce(sum(sign) FILTER (WHERE metric IS NOT NULL), 0) <> 0
        OR coalesce(sum(sign * close_days), 0) <> 0;
END;

CREATE FUNCTION opportunity_cells_trigger() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM record_opportunity_cells((SELECT array_agg(n::opportunities) FROM new_rows n), '{}'::opportunities[]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM record_opportunity_cells((SELECT array_agg(n::opportunities) FROM new_rows n), (SELECT array_agg(o::opportunities) FROM old_rows o));
    ELSE
        PERFORM record_opportunity_cells('{}'::opportunities[], (SELECT array_agg(o::opportunities) FROM old_rows o));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER opportunity_cells_insert AFTER INSERT ON opportunities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION opportunity_cells_trigger();
CREATE TRIGGER opportunity_cells_update AFTER UPDATE ON opportunities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION opportunity_cells_trigger();
CREATE TRIGGER opportunity_cells_delete AFTER DELETE ON opportunities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION opportunity_cells_trigger();

-- Folds the deltas into the cells; one caller at a time (others return at once). Returns the
-- number of deltas folded.
CREATE FUNCTION compact_opportunity_cells() RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    folded bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('salesfunnel.compact_opportunity_cells')) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM opportunity_cell_deltas RETURNING *
    ), summed AS (
        SELECT funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id,
               sum(opportunities) AS opportunities, sum(target_value) AS target_value,
               sum(weighted_value) AS weighted_value, sum(metric) AS metric, sum(metric_count) AS metric_count,
               sum(close_days) AS close_days, count(*) AS deltas
        FROM moved
        GROUP BY funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id
    ), folded_in AS (
        INSERT INTO opportunity_cells AS c
        SELECT funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id, opportunities,
               target_value, weighted_value, metric, metric_count, close_days
        FROM summed
        ORDER BY funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id
        ON CONFLICT (funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id) DO UPDATE
        SET opportunities = c.opportunities + excluded.opportunities,
            target_value = c.target_value + excluded.target_value,
            weighted_value = c.weighted_value + excluded.weighted_value,
            metric = c.metric + excluded.metric,
            metric_count = c.metric_count + excluded.metric_count,
            close_days = c.close_days + excluded.close_days
    )
    SELECT coalesce(sum(deltas), 0) INTO folded FROM summed;
    -- Cells whose opportunities have all moved elsewhere.
    DELETE FROM opportunity_cells WHERE opportunities = 0 AND metric_count = 0;
    RETURN folded;
END
$$;

-- The opportunities there are already.
SELECT record_opportunity_cells(array_agg(o), '{}') FROM opportunities o;
SELECT compact_opportunity_cells();

-- Owners report: distinct partners of open opportunities per owner, from the index alone.
CREATE INDEX opportunities_owner_partner_idx ON opportunities (owner_id, business_partner_id)
    INCLUDE (funnel_id, class_id) WHERE status = 'open';
-- The traffic light (lists) and red counts per owner (owners report), from the index alone.
DROP INDEX opportunities_health_idx;
CREATE INDEX opportunities_health_idx ON opportunities (funnel_id, stage_id, last_contact_at)
    INCLUDE (owner_id, class_id) WHERE status = 'open';
-- Stage conversion: the stage changes of a period.
CREATE INDEX opportunity_stage_changes_changed_idx ON opportunity_stage_changes (changed_at) INCLUDE (opportunity_id);
-- Forecast per article: open opportunities by expected close date, won ones by close instant.
CREATE INDEX opportunities_expected_open_idx ON opportunities (expected_close_date) WHERE status = 'open';
CREATE INDEX opportunities_closed_won_idx ON opportunities (closed_at) WHERE status = 'won';
