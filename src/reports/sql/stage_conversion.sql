-- Stage conversion from the stage history, per funnel and stage in funnel order.
--
-- A visit is one entry into a stage (a history row), lasting until the opportunity's next
-- change. The cohort of a stage is the opportunities that entered it from $6 up to $7
-- (exclusive), each counted once however often it re-entered. For each of them, over its visits
-- of the stage from $6 on (also after $7):
--   moved_on   some visit ended in a stage further down the funnel or in the won stage (going
--              back, or being lost, is not moving on);
--   won_later  it entered a won stage at or after its first entry in the period;
--   days       the time of its ended visits together (a visit still running is not counted).
-- conversion_rate = moved_on / entered, win_rate = won_later / entered, in percent.
WITH touched AS (
    SELECT DISTINCT c.opportunity_id
    FROM opportunity_stage_changes c
    WHERE c.changed_at >= $6::date::timestamp AT TIME ZONE 'UTC'
      AND c.changed_at < $7::date::timestamp AT TIME ZONE 'UTC'
), visits AS (
    SELECT c.opportunity_id, o.funnel_id, c.to_stage_id AS stage_id, c.changed_at AS entered_at,
           lead(c.changed_at) OVER w AS left_at, lead(c.to_stage_id) OVER w AS next_stage_id
    FROM touched t
    JOIN opportunities o ON o.id = t.opportunity_id
    JOIN opportunity_stage_changes c ON c.opportunity_id = t.opportunity_id
    WHERE {scope}
    WINDOW w AS (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)
), placed AS (
    SELECT v.opportunity_id, v.funnel_id, v.stage_id, v.entered_at, v.left_at,
           n.outcome = 'won' OR (n.outcome = 'open' AND nfs.position > fs.position) AS moves_on,
           max(v.entered_at) FILTER (WHERE s.outcome = 'won') OVER (PARTITION BY v.opportunity_id) AS won_at
    FROM visits v
    JOIN funnel_stages fs ON fs.funnel_id = v.funnel_id AND fs.stage_id = v.stage_id
    JOIN stages s ON s.id = v.stage_id
    LEFT JOIN stages n ON n.id = v.next_stage_id
    LEFT JOIN funnel_stages nfs ON nfs.funnel_id = v.funnel_id AND nfs.stage_id = v.next_stage_id
), cohort AS (
    SELECT funnel_id, stage_id,
           coalesce(bool_or(moves_on), false) AS moved_on,
           max(won_at) >= min(entered_at) FILTER (WHERE entered_at < $7::date::timestamp AT TIME ZONE 'UTC')
               AS won_later,
           sum(extract(epoch FROM left_at - entered_at)) / 86400 AS days
    FROM placed
    WHERE entered_at >= $6::date::timestamp AT TIME ZONE 'UTC'
    GROUP BY opportunity_id, funnel_id, stage_id
    HAVING bool_or(entered_at < $7::date::timestamp AT TIME ZONE 'UTC')
), shown AS (
    SELECT f.id, f.name
    FROM funnels f
    WHERE ($1::uuid IS NULL OR f.id = $1)
      AND (f.active OR EXISTS (SELECT FROM cohort c WHERE c.funnel_id = f.id))
)
SELECT f.id AS funnel_id, f.name AS funnel_name, fs.position, s.id AS stage_id, s.code AS stage_code,
       s.name AS stage_name, s.outcome,
       count(c.stage_id)::bigint AS entered,
       count(*) FILTER (WHERE c.moved_on)::bigint AS moved_on,
       count(*) FILTER (WHERE c.won_later)::bigint AS won_later,
       round(100.0 * count(*) FILTER (WHERE c.moved_on) / nullif(count(c.stage_id), 0), 2) AS conversion_rate,
       round(100.0 * count(*) FILTER (WHERE c.won_later) / nullif(count(c.stage_id), 0), 2) AS win_rate,
       round(avg(c.days), 1) AS average_days
FROM shown f
JOIN funnel_stages fs ON fs.funnel_id = f.id
JOIN stages s ON s.id = fs.stage_id
LEFT JOIN cohort c ON c.funnel_id = f.id AND c.stage_id = s.id
GROUP BY f.id, f.name, fs.position, s.id, s.code, s.name, s.outcome
ORDER BY f.name, f.id, fs.position
