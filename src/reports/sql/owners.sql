-- Per owner, their open opportunities: count and sums per currency and in all (level 1) from the
-- report cells; distinct business partners and red traffic lights (as of now) from indexes on
-- the open opportunities. Active reps without open opportunities are listed too when the caller
-- sees everything ($4 null) and no other owner is asked for.
WITH sums AS (
    SELECT o.owner_id, o.currency, sum(o.opportunities)::bigint AS open_count, sum(o.target_value) AS target_value,
           sum(o.weighted_value) AS weighted_value, GROUPING(o.currency) AS level
    FROM {cells} o
    WHERE o.status = 'open' AND {scope}
    GROUP BY GROUPING SETS ((o.owner_id, o.currency), (o.owner_id))
    HAVING sum(o.opportunities) <> 0
), partners AS (
    SELECT pairs.owner_id, count(*)::bigint AS partner_count
    FROM (SELECT DISTINCT o.owner_id, o.business_partner_id FROM opportunities o WHERE o.status = 'open' AND {scope}) pairs
    GROUP BY pairs.owner_id
), red AS (
    -- One index range per funnel stage: last contact before the stage's (else funnel's) cutoff,
    -- not green (a stage may lower only the critical days) and no follow-up keeping it yellow,
    -- as in opportunity_health.
    SELECT r.owner_id, count(*)::bigint AS red_count
    FROM funnel_stages fs
    JOIN stages s ON s.id = fs.stage_id
    JOIN funnels f ON f.id = fs.funnel_id
    CROSS JOIN LATERAL (
        SELECT o.owner_id
        FROM opportunities o
        WHERE o.status = 'open' AND o.funnel_id = fs.funnel_id AND o.stage_id = fs.stage_id
          AND o.last_contact_at <= health_cutoff(s.critical_after_days, f.critical_after_days)
          AND o.last_contact_at <= health_cutoff(s.warn_after_days, f.warn_after_days)
          AND NOT followup_keeps_yellow(f.planned_followup_keeps_yellow, o.next_activity_due_at,
                                        s.warn_after_days, f.warn_after_days)
          AND {scope}
        OFFSET 0 -- keeps the subquery apart: one index range per stage, not a scan of all open ones
    ) r
    GROUP BY r.owner_id
), owners AS (
    SELECT owner_id FROM sums
    UNION
    SELECT u.id
    FROM users u
    WHERE u.role = 'rep' AND u.active AND $4::uuid IS NULL AND ($2::uuid IS NULL OR u.id = $2)
)
SELECT coalesce(s.level, 1) AS level, w.owner_id, u.display_name AS owner_name, u.role AS owner_role, s.currency,
       coalesce(s.open_count, 0)::bigint AS open_count,
       CASE WHEN coalesce(s.level, 1) = 1 THEN coalesce(p.partner_count, 0) ELSE 0 END::bigint AS partner_count,
       CASE WHEN coalesce(s.level, 1) = 1 THEN coalesce(r.red_count, 0) ELSE 0 END::bigint AS red_count,
       s.target_value, s.weighted_value
FROM owners w
JOIN users u ON u.id = w.owner_id
LEFT JOIN sums s ON s.owner_id = w.owner_id
LEFT JOIN partners p ON p.owner_id = w.owner_id
LEFT JOIN red r ON r.owner_id = w.owner_id
ORDER BY u.display_name, w.owner_id, coalesce(s.level, 1) DESC, s.currency
