DROP FUNCTION opportunity_primary_quote(uuid);
DROP FUNCTION opportunity_activity_counts(uuid);
