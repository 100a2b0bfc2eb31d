(SELECT o.funnel_id, o.stage_id, o.owner_id, o.class_id, o.currency, 1 AS opportunities, o.target_value,
        o.weighted_value
 FROM opportunities o
 JOIN stages s ON s.id = o.stage_id
 JOIN funnels f ON f.id = o.funnel_id
 WHERE o.funnel_id = $1 AND o.status = 'open' AND {health} = $4::text)
