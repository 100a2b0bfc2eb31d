-- From the article cells (see the report cells migration): quantities (Absatzprognose) per
-- article and month. Lines of open opportunities by expected close month, weighted by the
-- opportunity's probability, and lines of won ones by month closed (UTC), from $6 up to $7
-- (exclusive). Lines without an article count under their SKU.
-- `level` 1: the currency rolled up (quantities are counted in every currency).
WITH cells AS (
    SELECT date_trunc('month', o.day)::date AS month, o.article_id, o.sku, o.currency,
           sum(o.quantity) FILTER (WHERE o.status = 'open') AS quantity,
           sum(o.quantity_x_probability) FILTER (WHERE o.status = 'open') AS quantity_x_probability,
           sum(o.value) FILTER (WHERE o.status = 'open') AS value,
           sum(o.value_x_probability) FILTER (WHERE o.status = 'open') AS value_x_probability,
           sum(o.quantity) FILTER (WHERE o.status = 'won') AS won_quantity,
           sum(o.value) FILTER (WHERE o.status = 'won') AS won_value
    FROM (SELECT * FROM article_cells UNION ALL SELECT * FROM article_cell_deltas) o
    WHERE o.status IN ('open', 'won') AND o.day >= $6::date AND o.day < $7::date AND {scope}
    GROUP BY 1, 2, 3, 4
    HAVING sum(o.lines) <> 0
), grouped AS (
    SELECT month, article_id, sku, currency,
           round(coalesce(sum(quantity), 0), 3) AS quantity,
           round(coalesce(sum(quantity_x_probability), 0) / 100, 3) AS weighted_quantity,
           round(coalesce(sum(won_quantity), 0), 3) AS won_quantity,
           coalesce(sum(value), 0) AS value, round(coalesce(sum(value_x_probability), 0) / 100, 2) AS weighted_value,
           coalesce(sum(won_value), 0) AS won_value,
           GROUPING(currency) AS level
    FROM cells
    GROUP BY GROUPING SETS ((month, article_id, sku, currency), (month, article_id, sku))
)
SELECT g.level, g.month, g.article_id, coalesce(a.sku, g.sku) AS sku, a.name AS article_name, a.unit,
       g.currency, g.quantity, g.weighted_quantity, g.won_quantity, g.value, g.weighted_value, g.won_value
FROM grouped g
LEFT JOIN articles a ON a.id = g.article_id
ORDER BY g.month, coalesce(a.sku, g.sku) NULLS LAST, g.article_id, g.level DESC, g.currency
