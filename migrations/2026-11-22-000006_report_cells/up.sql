-- Report cells: opportunities counted and summed per funnel, stage, owner, class, currency,
-- status, day and lost reason, so that the pipeline, owners, forecast and win/loss reports add
-- up a few thousand cells instead of a million opportunities.
--
-- The day is the expected close date of an open opportunity and the day (UTC) a closed one
-- closed. Triggers on `opportunities` write the change of every statement as signed deltas into
-- `opportunity_cell_deltas` (insert only: concurrent writers never wait for each other there);
-- `compact_report_cells()` folds the deltas into `opportunity_cells`. A report reads both.
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
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
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
END
$$;

CREATE FUNCTION opportunity_cells_trigger() RETURNS trigger
    LANGUAGE plpgsql
    -- The statements it runs (also in the functions it calls) were planned again on every call:
    -- their custom plans looked cheaper than the generic one, so the plan cache never settled.
    -- Generic plans: an opportunity update with the triggers took 1.7 ms, now 0.69 ms (0.68 ms
    -- without them; pgbench, one connection, 1,000,000 opportunities). Bulk calls outside the
    -- triggers (migration, seed) keep custom plans.
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    moved uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM record_opportunity_cells((SELECT array_agg(n::opportunities) FROM new_rows n), '{}'::opportunities[]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM record_opportunity_cells((SELECT array_agg(n::opportunities) FROM new_rows n), (SELECT array_agg(o::opportunities) FROM old_rows o));
        -- The stage visits are counted under the opportunity's funnel, owner and class.
        moved := ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.funnel_id, n.owner_id, n.class_id) IS DISTINCT FROM (o.funnel_id, o.owner_id, o.class_id));
        IF cardinality(moved) > 0 THEN
            PERFORM refresh_stage_visits(moved);
        END IF;
        -- Its lines count under all that, its currency, status and day, times its probability.
        moved := ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.funnel_id, n.owner_id, n.class_id, n.currency, n.status, n.probability, n.expected_close_date,
                   n.closed_at)
                  IS DISTINCT FROM (o.funnel_id, o.owner_id, o.class_id, o.currency, o.status, o.probability,
                                    o.expected_close_date, o.closed_at)
              AND n.line_count + o.line_count > 0);
        IF cardinality(moved) > 0 THEN
            PERFORM refresh_line_contributions(moved);
        END IF;
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
CREATE FUNCTION compact_report_cells() RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    folded bigint;
    folded_stages bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('salesfunnel.compact_report_cells')) THEN
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
    WITH moved AS (
        DELETE FROM stage_cell_deltas RETURNING *
    ), summed AS (
        SELECT funnel_id, stage_id, owner_id, class_id, day, sum(entered) AS entered, sum(moved_on) AS moved_on,
               sum(won_later) AS won_later, sum(days) AS days, sum(days_count) AS days_count, count(*) AS deltas
        FROM moved
        GROUP BY funnel_id, stage_id, owner_id, class_id, day
    ), folded_in AS (
        INSERT INTO stage_cells AS c
        SELECT funnel_id, stage_id, owner_id, class_id, day, entered, moved_on, won_later, days, days_count
        FROM summed
        ORDER BY funnel_id, stage_id, owner_id, class_id, day
        ON CONFLICT (funnel_id, stage_id, owner_id, class_id, day) DO UPDATE
        SET entered = c.entered + excluded.entered,
            moved_on = c.moved_on + excluded.moved_on,
            won_later = c.won_later + excluded.won_later,
            days = c.days + excluded.days,
            days_count = c.days_count + excluded.days_count
    )
    SELECT coalesce(sum(deltas), 0) INTO folded_stages FROM summed;
    WITH moved AS (
        DELETE FROM article_cell_deltas RETURNING *
    ), summed AS (
        SELECT funnel_id, owner_id, class_id, currency, status, day, article_id, sku, sum(lines) AS lines,
               sum(quantity) AS quantity, sum(quantity_x_probability) AS quantity_x_probability,
               sum(value) AS value, sum(value_x_probability) AS value_x_probability, count(*) AS deltas
        FROM moved
        GROUP BY funnel_id, owner_id, class_id, currency, status, day, article_id, sku
    ), folded_in AS (
        INSERT INTO article_cells AS c
        SELECT funnel_id, owner_id, class_id, currency, status, day, article_id, sku, lines, quantity,
               quantity_x_probability, value, value_x_probability
        FROM summed
        ORDER BY funnel_id, owner_id, class_id, currency, status, day, article_id, sku
        ON CONFLICT (funnel_id, owner_id, class_id, currency, status, day, article_id, sku) DO UPDATE
        SET lines = c.lines + excluded.lines,
            quantity = c.quantity + excluded.quantity,
            quantity_x_probability = c.quantity_x_probability + excluded.quantity_x_probability,
            value = c.value + excluded.value,
            value_x_probability = c.value_x_probability + excluded.value_x_probability
    )
    SELECT folded_stages + coalesce(sum(deltas), 0) INTO folded_stages FROM summed;
    -- Cells whose opportunities have all moved elsewhere.
    DELETE FROM opportunity_cells WHERE opportunities = 0 AND metric_count = 0;
    DELETE FROM stage_cells WHERE entered = 0;
    DELETE FROM article_cells WHERE lines = 0;
    RETURN folded + folded_stages;
END
$$;


-- Stage conversion. One row per opportunity and stage it ever entered: when it first entered
-- it, whether it ever left it for a stage further down its funnel or the won stage, whether it
-- was won at or after that first entry, and the days of its ended visits to the stage. The
-- rows of an opportunity are computed again from its stage history whenever that history (or
-- its funnel, owner or class) changes; the difference goes as deltas into the stage cells,
-- counted per funnel, stage, owner, class and day of first entry.
CREATE TABLE stage_visits (
    opportunity_id   uuid        NOT NULL,
    stage_id         uuid        NOT NULL,
    funnel_id        uuid        NOT NULL,
    owner_id         uuid        NOT NULL,
    class_id         text        NOT NULL,
    first_entered_at timestamptz NOT NULL,
    moved_on         boolean     NOT NULL,
    won_later        boolean     NOT NULL,
    -- null while it has not left the stage yet
    days             numeric,
    PRIMARY KEY (opportunity_id, stage_id)
);

CREATE TABLE stage_cells (
    funnel_id  uuid    NOT NULL,
    stage_id   uuid    NOT NULL,
    owner_id   uuid    NOT NULL,
    class_id   text    NOT NULL,
    day        date    NOT NULL,
    entered    bigint  NOT NULL,
    moved_on   bigint  NOT NULL,
    won_later  bigint  NOT NULL,
    days       numeric NOT NULL,
    days_count bigint  NOT NULL,
    UNIQUE (funnel_id, stage_id, owner_id, class_id, day)
);

CREATE TABLE stage_cell_deltas (LIKE stage_cells);

-- Computes the stage visits of opportunities `ids` again and records the change in the cells.
CREATE FUNCTION refresh_stage_visits(ids uuid[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    WITH old AS (
        SELECT v.* FROM stage_visits v JOIN unnest(ids) AS t (id) ON v.opportunity_id = t.id
    ), visits AS (
        SELECT c.opportunity_id, o.funnel_id, o.owner_id, o.class_id, c.to_stage_id AS stage_id,
               c.changed_at AS entered_at, lead(c.changed_at) OVER w AS left_at,
               lead(c.to_stage_id) OVER w AS next_stage_id
        FROM unnest(ids) AS t (id)
        JOIN opportunities o ON o.id = t.id
        JOIN opportunity_stage_changes c ON c.opportunity_id = t.id
        WINDOW w AS (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)
    ), placed AS (
        SELECT v.*, n.outcome = 'won' OR (n.outcome = 'open' AND nfs.position > fs.position) AS moves_on,
               max(v.entered_at) FILTER (WHERE s.outcome = 'won') OVER (PARTITION BY v.opportunity_id) AS won_at
        FROM visits v
        JOIN funnel_stages fs ON fs.funnel_id = v.funnel_id AND fs.stage_id = v.stage_id
        JOIN stages s ON s.id = v.stage_id
        LEFT JOIN stages n ON n.id = v.next_stage_id
        LEFT JOIN funnel_stages nfs ON nfs.funnel_id = v.funnel_id AND nfs.stage_id = v.next_stage_id
    ), new AS (
        SELECT opportunity_id, stage_id, funnel_id, owner_id, class_id, min(entered_at) AS first_entered_at,
               coalesce(bool_or(moves_on), false) AS moved_on,
               coalesce(max(won_at) >= min(entered_at), false) AS won_later,
               sum(extract(epoch FROM left_at - entered_at)) / 86400 AS days
        FROM placed
        GROUP BY opportunity_id, stage_id, funnel_id, owner_id, class_id
    ), written AS (
        INSERT INTO stage_visits SELECT * FROM new
        ON CONFLICT (opportunity_id, stage_id) DO UPDATE
        SET funnel_id = excluded.funnel_id, owner_id = excluded.owner_id, class_id = excluded.class_id,
            first_entered_at = excluded.first_entered_at, moved_on = excluded.moved_on,
            won_later = excluded.won_later, days = excluded.days
    ), gone AS (
        DELETE FROM stage_visits v USING old
        WHERE v.opportunity_id = old.opportunity_id AND v.stage_id = old.stage_id
          AND NOT EXISTS (SELECT FROM new WHERE new.opportunity_id = old.opportunity_id AND new.stage_id = old.stage_id)
    )
    INSERT INTO stage_cell_deltas
    SELECT funnel_id, stage_id, owner_id, class_id, day, sum(sign), sum(sign * moved_on::int),
           sum(sign * won_later::int), coalesce(sum(sign * days), 0),
           coalesce(sum(sign) FILTER (WHERE days IS NOT NULL), 0)
    FROM (
        SELECT 1 AS sign, funnel_id, stage_id, owner_id, class_id, (first_entered_at AT TIME ZONE 'UTC')::date AS day,
               moved_on, won_later, days
        FROM new
        UNION ALL
        SELECT -1, funnel_id, stage_id, owner_id, class_id, (first_entered_at AT TIME ZONE 'UTC')::date,
               moved_on, won_later, days
        FROM old
    ) signed
    GROUP BY funnel_id, stage_id, owner_id, class_id, day
    HAVING sum(sign) <> 0 OR sum(sign * moved_on::int) <> 0 OR sum(sign * won_later::int) <> 0
        OR coalesce(sum(sign * days), 0) <> 0 OR coalesce(sum(sign) FILTER (WHERE days IS NOT NULL), 0) <> 0;
END
$$;

CREATE FUNCTION stage_visits_trigger() RETURNS trigger
    LANGUAGE plpgsql
    -- See opportunity_cells_trigger.
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_stage_visits(ARRAY(SELECT DISTINCT opportunity_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_stage_visits(ARRAY(SELECT opportunity_id FROM new_rows UNION SELECT opportunity_id FROM old_rows));
    ELSE
        PERFORM refresh_stage_visits(ARRAY(SELECT DISTINCT opportunity_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stage_visits_insert AFTER INSERT ON opportunity_stage_changes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_visits_trigger();
CREATE TRIGGER stage_visits_update AFTER UPDATE ON opportunity_stage_changes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_visits_trigger();
CREATE TRIGGER stage_visits_delete AFTER DELETE ON opportunity_stage_changes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_visits_trigger();

-- Forecast per article (Absatzprognose). One row per opportunity line with what it adds to
-- the article cells: quantity and value, each also times the opportunity's probability, under
-- the opportunity's funnel, owner, class, currency, status and day. The rows of an opportunity
-- are computed again whenever its lines change or it changes in a way that moves them; the
-- difference goes as deltas into the article cells.
CREATE TABLE line_contributions (
    line_id                uuid    PRIMARY KEY,
    opportunity_id         uuid    NOT NULL,
    funnel_id              uuid    NOT NULL,
    owner_id               uuid    NOT NULL,
    class_id               text    NOT NULL,
    currency               char(3) NOT NULL,
    status                 text    NOT NULL,
    day                    date,
    article_id             uuid,
    -- the SKU of a line without an article (such lines count under their SKU)
    sku                    text,
    quantity               numeric NOT NULL,
    quantity_x_probability numeric NOT NULL,
    value                  numeric NOT NULL,
    value_x_probability    numeric NOT NULL
);
CREATE INDEX line_contributions_opportunity_idx ON line_contributions (opportunity_id);

CREATE TABLE article_cells (
    funnel_id              uuid    NOT NULL,
    owner_id               uuid    NOT NULL,
    class_id               text    NOT NULL,
    currency               char(3) NOT NULL,
    status                 text    NOT NULL,
    day                    date,
    article_id             uuid,
    sku                    text,
    lines                  bigint  NOT NULL,
    quantity               numeric NOT NULL,
    quantity_x_probability numeric NOT NULL,
    value                  numeric NOT NULL,
    value_x_probability    numeric NOT NULL,
    UNIQUE NULLS NOT DISTINCT (funnel_id, owner_id, class_id, currency, status, day, article_id, sku)
);

CREATE TABLE article_cell_deltas (LIKE article_cells);

-- Computes the line contributions of opportunities `ids` again and records the change.
CREATE FUNCTION refresh_line_contributions(ids uuid[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    WITH old AS (
        SELECT c.* FROM line_contributions c JOIN unnest(ids) AS t (id) ON c.opportunity_id = t.id
    ), new AS (
        SELECT l.id AS line_id, o.id AS opportunity_id, o.funnel_id, o.owner_id, o.class_id, o.currency, o.status,
               CASE WHEN o.status = 'open' THEN o.expected_close_date
                    ELSE (o.closed_at AT TIME ZONE 'UTC')::date END AS day,
               l.article_id, CASE WHEN l.article_id IS NULL THEN l.sku END AS sku,
               l.quantity, l.quantity * o.probability AS quantity_x_probability,
               l.line_total AS value, l.line_total * o.probability AS value_x_probability
        FROM unnest(ids) AS t (id)
        JOIN opportunities o ON o.id = t.id
        JOIN opportunity_lines l ON l.opportunity_id = t.id
    ), written AS (
        INSERT INTO line_contributions SELECT * FROM new
        ON CONFLICT (line_id) DO UPDATE
        SET funnel_id = excluded.funnel_id, owner_id = excluded.owner_id, class_id = excluded.class_id,
            currency = excluded.currency, status = excluded.status, day = excluded.day,
            article_id = excluded.article_id, sku = excluded.sku, quantity = excluded.quantity,
            quantity_x_probability = excluded.quantity_x_probability, value = excluded.value,
            value_x_probability = excluded.value_x_probability
    ), gone AS (
        DELETE FROM line_contributions c USING old
        WHERE c.line_id = old.line_id AND NOT EXISTS (SELECT FROM new WHERE new.line_id = old.line_id)
    )
    INSERT INTO article_cell_deltas
    SELECT funnel_id, owner_id, class_id, currency, status, day, article_id, sku, sum(sign),
           sum(sign * quantity), sum(sign * quantity_x_probability), sum(sign * value),
           sum(sign * value_x_probability)
    FROM (
        SELECT 1 AS sign, funnel_id, owner_id, class_id, currency, status, day, article_id, sku, quantity,
               quantity_x_probability, value, value_x_probability
        FROM new
        UNION ALL
        SELECT -1, funnel_id, owner_id, class_id, currency, status, day, article_id, sku, quantity,
               quantity_x_probability, value, value_x_probability
        FROM old
    ) signed
    GROUP BY funnel_id, owner_id, class_id, currency, status, day, article_id, sku
    HAVING sum(sign) <> 0 OR sum(sign * quantity) <> 0 OR sum(sign * quantity_x_probability) <> 0
        OR sum(sign * value) <> 0 OR sum(sign * value_x_probability) <> 0;
END
$$;

CREATE FUNCTION line_contributions_trigger() RETURNS trigger
    LANGUAGE plpgsql
    -- See opportunity_cells_trigger.
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_line_contributions(ARRAY(SELECT DISTINCT opportunity_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_line_contributions(ARRAY(SELECT opportunity_id FROM new_rows UNION SELECT opportunity_id FROM old_rows));
    ELSE
        PERFORM refresh_line_contributions(ARRAY(SELECT DISTINCT opportunity_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER line_contributions_insert AFTER INSERT ON opportunity_lines
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION line_contributions_trigger();
CREATE TRIGGER line_contributions_update AFTER UPDATE ON opportunity_lines
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION line_contributions_trigger();
CREATE TRIGGER line_contributions_delete AFTER DELETE ON opportunity_lines
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION line_contributions_trigger();

-- Owners report: distinct partners of open opportunities per owner, from the index alone.
CREATE INDEX opportunities_owner_partner_idx ON opportunities (owner_id, business_partner_id)
    INCLUDE (funnel_id, class_id) WHERE status = 'open';
-- The traffic light (lists) and red counts per owner (owners report), from the index alone.
DROP INDEX opportunities_health_idx;
CREATE INDEX opportunities_health_idx ON opportunities (funnel_id, stage_id, last_contact_at)
    INCLUDE (owner_id, class_id) WHERE status = 'open';

-- The opportunities and stage histories there are already.
SELECT record_opportunity_cells(array_agg(o), '{}') FROM opportunities o;
SELECT refresh_stage_visits(array_agg(id)) FROM opportunities;
SELECT refresh_line_contributions(array_agg(DISTINCT opportunity_id)) FROM opportunity_lines;
SELECT compact_report_cells();
