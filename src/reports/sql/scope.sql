-- The opportunities a report covers ($1 funnel, $2 owner, $3 class, all optional) and what the
-- caller sees ($4 a rep's user id, $5 the rep's team funnels; $4 null for roles that see all).
-- Null parameters fold away in the plan: sql_query statements are planned with their values.
    ($1::uuid IS NULL OR o.funnel_id = $1)
AND ($2::uuid IS NULL OR o.owner_id = $2)
AND ($3::text IS NULL OR o.class_id = $3)
AND ($4::uuid IS NULL OR o.owner_id = $4 OR o.funnel_id = ANY ($5::uuid[]))
