-- From the report cells: open opportunities by expected close month and won ones by month
-- closed (UTC), from $6 (a first of month) up to $7 (exclusive); per owner as well when $8.
-- `level` bits: 1 the currency rolled up, 2 the owner rolled up.
WITH cells AS (
    SELECT date_trunc('month', o.day)::date AS month, CASE WHEN $8::boolean THEN o.owner_id END AS owner_id,
           o.currency,
           coalesce(sum(o.opportunities) FILTER (WHERE o.status = 'open'), 0) AS open_count,
           coalesce(sum(o.target_value) FILTER (WHERE o.status = 'open'), 0) AS target_value,
           coalesce(sum(o.weighted_value) FILTER (WHERE o.status = 'open'), 0) AS weighted_value,
           coalesce(sum(o.opportunities) FILTER (WHERE o.status = 'won'), 0) AS won_count,
           coalesce(sum(o.target_value) FILTER (WHERE o.status = 'won'), 0) AS won_value
    FROM {cells} o
    WHERE o.status IN ('open', 'won') AND o.day >= $6::date AND o.day < $7::date AND {scope}
    GROUP BY 1, 2, 3
    HAVING sum(o.opportunities) <> 0
), grouped AS (
    SELECT month, owner_id, currency,
           sum(open_count)::bigint AS open_count, sum(target_value) AS target_value,
           sum(weighted_value) AS weighted_value, sum(won_count)::bigint AS won_count,
           sum(won_value) AS won_value,
           GROUPING(currency) + 2 * GROUPING(owner_id) AS level
    FROM cells
    GROUP BY GROUPING SETS ((month, owner_id, currency), (month, owner_id), (month, currency), (month))
)
SELECT g.level, g.month, g.owner_id, u.display_name AS owner_name, g.currency, g.open_count, g.target_value,
       g.weighted_value, g.won_count, g.won_value
FROM grouped g
LEFT JOIN users u ON u.id = g.owner_id
WHERE $8::boolean OR g.level >= 2
-- Per month: its totals, its currencies, then per owner their totals and currencies.
ORDER BY g.month, g.level < 2, u.display_name, g.owner_id, g.level DESC, g.currency
