-- Per funnel and stage (in funnel order), from the report cells: opportunities now in the stage, per currency and in
-- all currencies; totals per funnel and outcome, and per outcome over all funnels.
-- `level` tells the grouping sets apart; its bits say what is rolled up: 1 the currency, 2 the
-- stage, 4 the funnel.
WITH cells AS MATERIALIZED (
    SELECT o.funnel_id, o.stage_id, o.currency, sum(o.opportunities) AS n, sum(o.target_value) AS target,
           sum(o.weighted_value) AS weighted, CASE WHEN sum(o.metric_count) > 0 THEN sum(o.metric) END AS metric
    FROM {cells} o
    WHERE {scope}
    GROUP BY o.funnel_id, o.stage_id, o.currency
    HAVING sum(o.opportunities) <> 0
), shown AS (
    SELECT f.id
    FROM funnels f
    WHERE ($1::uuid IS NULL OR f.id = $1)
      AND (f.active OR EXISTS (SELECT FROM cells c WHERE c.funnel_id = f.id))
), grid AS (
    SELECT fs.funnel_id, fs.position, fs.stage_id, s.outcome, c.currency, c.n, c.target, c.weighted, c.metric
    FROM shown
    JOIN funnel_stages fs ON fs.funnel_id = shown.id
    JOIN stages s ON s.id = fs.stage_id
    LEFT JOIN cells c ON c.funnel_id = fs.funnel_id AND c.stage_id = fs.stage_id
), grouped AS (
    SELECT funnel_id, position, stage_id, outcome, currency,
           coalesce(sum(n), 0)::bigint AS count, sum(target) AS target_value,
           sum(weighted) AS weighted_value, sum(metric) AS metric,
           GROUPING(currency) + 2 * GROUPING(position, stage_id) / 3 + 4 * GROUPING(funnel_id) AS level
    FROM grid
    GROUP BY GROUPING SETS (
        (funnel_id, position, stage_id, outcome, currency), (funnel_id, position, stage_id, outcome),
        (funnel_id, outcome, currency), (funnel_id, outcome),
        (outcome, currency), (outcome))
)
SELECT g.level, g.funnel_id, f.name AS funnel_name, f.metric_label, g.position, g.stage_id, s.code AS stage_code,
       s.name AS stage_name, g.outcome, g.currency, g.count, g.target_value, g.weighted_value, g.metric
FROM grouped g
LEFT JOIN funnels f ON f.id = g.funnel_id
LEFT JOIN stages s ON s.id = g.stage_id
-- Stages without opportunities have a null currency: their per-currency rows are dropped,
-- their count rows (levels 1, 3, 7) stay.
WHERE g.currency IS NOT NULL OR g.level IN (1, 3, 7)
-- Per funnel: each stage's count, then its currencies; then the funnel's outcomes. Last the
-- outcomes over all funnels.
ORDER BY f.name NULLS LAST, g.funnel_id NULLS LAST, g.position NULLS LAST,
         array_position(ARRAY['open', 'won', 'lost'], g.outcome), g.level DESC, g.currency
