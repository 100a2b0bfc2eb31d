-- From the report cells: opportunities closed on days $6 up to $7 (exclusive, UTC): won and
-- lost counts and values, the win rate and the average days from creation to close, per
-- currency and in all currencies (level 1); lost ones per lost reason as well (level 2: per
-- reason and currency, 3: per reason).
WITH closed AS (
    SELECT o.status, o.currency, o.lost_reason_id, sum(o.opportunities) AS n, sum(o.target_value) AS value,
           sum(o.close_days) AS days
    FROM {cells} o
    WHERE o.status IN ('won', 'lost') AND o.day >= $6::date AND o.day < $7::date AND {scope}
    GROUP BY o.status, o.currency, o.lost_reason_id
    HAVING sum(o.opportunities) <> 0
), totals AS (
    SELECT currency, NULL::uuid AS lost_reason_id,
           coalesce(sum(n) FILTER (WHERE status = 'won'), 0)::bigint AS won_count,
           coalesce(sum(n) FILTER (WHERE status = 'lost'), 0)::bigint AS lost_count,
           coalesce(sum(value) FILTER (WHERE status = 'won'), 0) AS won_value,
           coalesce(sum(value) FILTER (WHERE status = 'lost'), 0) AS lost_value,
           round(sum(days) FILTER (WHERE status = 'won') / sum(n) FILTER (WHERE status = 'won'), 1) AS won_days,
           round(sum(days) FILTER (WHERE status = 'lost') / sum(n) FILTER (WHERE status = 'lost'), 1) AS lost_days,
           GROUPING(currency) AS level
    FROM closed
    GROUP BY GROUPING SETS ((currency), ())
), reasons AS (
    SELECT currency, lost_reason_id, 0::bigint, sum(n)::bigint, 0, sum(value), NULL::numeric,
           round(sum(days) / sum(n), 1), 2 + GROUPING(currency)
    FROM closed
    WHERE status = 'lost'
    GROUP BY GROUPING SETS ((lost_reason_id, currency), (lost_reason_id))
)
SELECT t.level, t.currency, t.lost_reason_id, r.label AS lost_reason, t.won_count, t.lost_count, t.won_value,
       t.lost_value, t.won_days, t.lost_days,
       round(100.0 * t.won_count / nullif(t.won_count + t.lost_count, 0), 2) AS win_rate
FROM (SELECT * FROM totals UNION ALL SELECT * FROM reasons) t
LEFT JOIN lost_reasons r ON r.id = t.lost_reason_id
-- Reasons first, most frequent first, each with its totals before its currencies; then the
-- totals before the currencies.
ORDER BY t.level >= 2 DESC, max(t.lost_count) OVER (PARTITION BY t.level >= 2, t.lost_reason_id) DESC,
         r.label, t.lost_reason_id, t.level DESC, t.currency
