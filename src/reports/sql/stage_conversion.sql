-- Stage conversion from the stage cells (see the report cells migration), per funnel and stage
-- in funnel order.
--
-- The cohort of a stage is the opportunities that first entered it on days $6 up to $7
-- (exclusive, UTC); an opportunity that re-enters a stage is counted once, at its first entry.
-- For each of them, over its whole history (also after $7):
--   moved_on   it left the stage for a stage further down the funnel or for the won stage (going
--              back, or being lost, is not moving on);
--   won_later  it entered a won stage at or after its first entry;
--   days       its ended visits to the stage, added up (a visit still running is not counted).
-- conversion_rate = moved_on / entered, win_rate = won_later / entered, in percent.
WITH cohort AS (
    SELECT o.funnel_id, o.stage_id, sum(o.entered) AS entered, sum(o.moved_on) AS moved_on,
           sum(o.won_later) AS won_later, sum(o.days) AS days, sum(o.days_count) AS days_count
    FROM (SELECT * FROM stage_cells UNION ALL SELECT * FROM stage_cell_deltas) o
    WHERE o.day >= $6::date AND o.day < $7::date AND {scope}
    GROUP BY o.funnel_id, o.stage_id
), shown AS (
    SELECT f.id, f.name
    FROM funnels f
    WHERE ($1::uuid IS NULL OR f.id = $1)
      AND (f.active OR EXISTS (SELECT FROM cohort c WHERE c.funnel_id = f.id AND c.entered > 0))
)
SELECT f.id AS funnel_id, f.name AS funnel_name, s.id AS stage_id, s.code AS stage_code, s.name AS stage_name,
       s.outcome,
       coalesce(c.entered, 0)::bigint AS entered,
       coalesce(c.moved_on, 0)::bigint AS moved_on,
       coalesce(c.won_later, 0)::bigint AS won_later,
       round(100.0 * c.moved_on / nullif(c.entered, 0), 2) AS conversion_rate,
       round(100.0 * c.won_later / nullif(c.entered, 0), 2) AS win_rate,
       round(c.days / nullif(c.days_count, 0), 1) AS average_days
FROM shown f
JOIN funnel_stages fs ON fs.funnel_id = f.id
JOIN stages s ON s.id = fs.stage_id
LEFT JOIN cohort c ON c.funnel_id = f.id AND c.stage_id = s.id
ORDER BY f.name, f.id, fs.position
