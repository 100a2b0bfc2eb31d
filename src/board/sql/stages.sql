-- The stages of funnel $1 in funnel order, each with the count and the target and weighted sums
-- per currency of its opportunities that match the filters ($2 owner, $3 class, $4 health) and
-- that the caller sees ($5 a fenced rep, null for roles that see all). One row per stage and
-- currency; a stage without such opportunities has one row with a null currency. No row: no such
-- funnel. The source (o) is the report cells (no health filter: a few cells per stage instead of its
-- opportunities) or the open opportunities with that traffic light now.
WITH sums AS (
    SELECT o.stage_id, o.currency, sum(o.opportunities)::bigint AS count,
           sum(o.target_value) AS target_value, sum(o.weighted_value) AS weighted_value
    FROM {source} o
    WHERE o.funnel_id = $1
      AND ($2::uuid IS NULL OR o.owner_id = $2)
      AND ($3::text IS NULL OR o.class_id = $3)
      AND {fence}
    GROUP BY o.stage_id, o.currency
    HAVING sum(o.opportunities) <> 0
)
SELECT f.name AS funnel_name, s.id AS stage_id, s.code, s.name, s.icon, s.probability, s.outcome,
       x.currency, coalesce(x.count, 0) AS count, x.target_value, x.weighted_value
FROM funnels f
JOIN funnel_stages fs ON fs.funnel_id = f.id
JOIN stages s ON s.id = fs.stage_id
LEFT JOIN sums x ON x.stage_id = fs.stage_id
WHERE f.id = $1
ORDER BY fs.position, x.currency
