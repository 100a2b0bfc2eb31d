DROP FUNCTION opportunity_health(text, timestamptz, timestamptz, timestamptz, boolean);
CREATE FUNCTION opportunity_health(status text, last_contact_at timestamptz, warn_cutoff timestamptz,
                                   critical_cutoff timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN status <> 'open' THEN NULL
        WHEN last_contact_at > warn_cutoff THEN 'green'
        WHEN last_contact_at > critical_cutoff THEN 'yellow'
        ELSE 'red'
    END;
DROP FUNCTION followup_keeps_yellow;
DROP INDEX opportunities_next_activity_idx;
DROP INDEX activities_planned_idx;
ALTER TABLE funnels DROP COLUMN planned_followup_keeps_yellow;
ALTER TABLE opportunities
    DROP COLUMN next_activity_id,
    DROP COLUMN next_activity_kind,
    DROP COLUMN next_activity_subject,
    DROP COLUMN next_activity_due_at;
