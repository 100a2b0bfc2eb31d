-- The next step of an opportunity and the follow-up rule of the traffic light.
--
-- next_activity_* copy the opportunity's earliest planned activity: dated ones first, by due
-- date, then those without a due date; ties (and undated ones) in the order of their ids
-- (UUIDv7, so in creation order). Like last_contact_at they are derived columns, rewritten in
-- the transaction of every activity change by src/opportunities/derive.rs; they reference no
-- activity by a foreign key (activities already reference opportunities, and the refresh is
-- what keeps them right). Overdue depends on the clock and is computed when read.
ALTER TABLE opportunities
    ADD COLUMN next_activity_id      uuid,
    ADD COLUMN next_activity_kind    text,
    ADD COLUMN next_activity_subject text,
    ADD COLUMN next_activity_due_at  timestamptz;

-- With it, a planned activity due within the warn days keeps a red opportunity yellow.
ALTER TABLE funnels ADD COLUMN planned_followup_keeps_yellow boolean NOT NULL DEFAULT false;

-- The planned activities of an opportunity in next-step order, and those overdue counted from
-- the index. Not partial: the reads bind the status as a parameter, and a generic plan cannot
-- prove a partial index's predicate from a parameter.
CREATE INDEX activities_planned_idx ON activities (opportunity_id, status, due_at, id);

-- The list filters next_activity_before, has_next_activity=true and overdue=true.
CREATE INDEX opportunities_next_activity_idx ON opportunities (next_activity_due_at, id)
    WHERE next_activity_id IS NOT NULL;

UPDATE opportunities o
SET next_activity_id = n.id, next_activity_kind = n.kind, next_activity_subject = n.subject,
    next_activity_due_at = n.due_at
FROM (
    SELECT DISTINCT ON (a.opportunity_id) a.opportunity_id, a.id, a.kind, a.subject, a.due_at
    FROM activities a
    WHERE a.status = 'planned' AND a.opportunity_id IS NOT NULL
    ORDER BY a.opportunity_id, a.due_at NULLS LAST, a.id
) n
WHERE o.id = n.opportunity_id;

-- True while the funnel keeps red opportunities with a planned follow-up yellow and the next
-- activity is due between now and the warn days (the stage's, else the funnel's) from now. An
-- overdue next activity keeps nothing yellow: the follow-up was missed. Inlined by the planner.
CREATE FUNCTION followup_keeps_yellow(keeps boolean, next_due_at timestamptz, stage_days integer,
                                      funnel_days integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce(keeps AND next_due_at >= now()
                    AND next_due_at <= now() + make_interval(days => coalesce(stage_days, funnel_days)), false);

-- The traffic light with the follow-up rule (see migration 000003 for the rest).
DROP FUNCTION opportunity_health(text, timestamptz, timestamptz, timestamptz);
CREATE FUNCTION opportunity_health(status text, last_contact_at timestamptz, warn_cutoff timestamptz,
                                   critical_cutoff timestamptz, followup_keeps_yellow boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN status <> 'open' THEN NULL
        WHEN last_contact_at > warn_cutoff THEN 'green'
        WHEN last_contact_at > critical_cutoff OR followup_keeps_yellow THEN 'yellow'
        ELSE 'red'
    END;
