-- Quantities (Absatzprognose) per article and month: lines of open opportunities by expected
-- close month, weighted by the opportunity's probability, and lines of won ones by month closed
-- (UTC), from $6 up to $7 (exclusive). Lines without an article count under their SKU.
-- `level` 1: the currency rolled up (quantities are counted in every currency).
WITH lines AS (
    SELECT date_trunc('month', o.expected_close_date)::date AS month, l.article_id,
           CASE WHEN l.article_id IS NULL THEN l.sku END AS sku, o.currency,
           l.quantity, l.quantity * o.probability AS quantity_x_probability,
           l.line_total AS value, l.line_total * o.probability AS value_x_probability,
           0 AS won_quantity, 0 AS won_value
    FROM opportunities o
    JOIN opportunity_lines l ON l.opportunity_id = o.id
    WHERE o.status = 'open' AND o.expected_close_date >= $6::date AND o.expected_close_date < $7::date
      AND {scope}
    UNION ALL
    SELECT date_trunc('month', o.closed_at AT TIME ZONE 'UTC')::date, l.article_id,
           CASE WHEN l.article_id IS NULL THEN l.sku END, o.currency,
           0, 0, 0, 0, l.quantity, l.line_total
    FROM opportunities o
    JOIN opportunity_lines l ON l.opportunity_id = o.id
    WHERE o.status = 'won' AND o.closed_at >= $6::date::timestamp AT TIME ZONE 'UTC'
      AND o.closed_at < $7::date::timestamp AT TIME ZONE 'UTC'
      AND {scope}
), grouped AS (
    SELECT month, article_id, sku, currency,
           round(sum(quantity), 3) AS quantity, round(sum(quantity_x_probability) / 100, 3) AS weighted_quantity,
           round(sum(won_quantity), 3) AS won_quantity,
           sum(value) AS value, round(sum(value_x_probability) / 100, 2) AS weighted_value,
           sum(won_value) AS won_value,
           GROUPING(currency) AS level
    FROM lines
    GROUP BY GROUPING SETS ((month, article_id, sku, currency), (month, article_id, sku))
)
SELECT g.level, g.month, g.article_id, coalesce(a.sku, g.sku) AS sku, a.name AS article_name, a.unit,
       g.currency, g.quantity, g.weighted_quantity, g.won_quantity, g.value, g.weighted_value, g.won_value
FROM grouped g
LEFT JOIN articles a ON a.id = g.article_id
ORDER BY g.month, coalesce(a.sku, g.sku) NULLS LAST, g.article_id, g.level DESC, g.currency
