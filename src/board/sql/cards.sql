-- The first cards of every stage of funnel $1, in funnel order and in each stage in the list's
-- default order (`-updated_at`, then id): at most $6 per stage (the page and one more, to know
-- whether its column goes on), with the filters and fence of sql/stages.sql. Each stage's cards
-- are read through the index on (stage_id, updated_at, id), newest first.
SELECT c.*
FROM funnel_stages fs
CROSS JOIN LATERAL (
    SELECT o.id, o.number, o.subject, o.stage_id, o.business_partner_id, p.name AS business_partner_name,
           o.owner_id, u.display_name AS owner_name, o.currency, o.target_value, o.weighted_value,
           o.probability, o.expected_close_date, o.next_activity_id, o.next_activity_kind,
           o.next_activity_subject, o.next_activity_due_at, o.updated_at, {health} AS health
    FROM opportunities o
    JOIN stages s ON s.id = o.stage_id
    JOIN funnels f ON f.id = o.funnel_id
    JOIN business_partners p ON p.id = o.business_partner_id
    JOIN users u ON u.id = o.owner_id
    WHERE o.stage_id = fs.stage_id
      AND o.funnel_id = $1
      AND ($2::uuid IS NULL OR o.owner_id = $2)
      AND ($3::text IS NULL OR o.class_id = $3)
      AND ($4::text IS NULL OR (o.status = 'open' AND {health} = $4))
      AND {fence}
    ORDER BY o.updated_at DESC, o.id DESC
    LIMIT $6
) c
WHERE fs.funnel_id = $1
ORDER BY fs.position, c.updated_at DESC, c.id DESC
