-- What every read of an opportunity shows besides its row: its activities per kind and its
-- primary quote. Reads call these instead of spelling the subqueries out, so that diesel keeps
-- their statements prepared (it never caches a statement with a literal SQL fragment). Each
-- body is one SELECT without FROM, which PostgreSQL inlines into the calling statement.
CREATE FUNCTION opportunity_activity_counts(opportunity uuid) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (SELECT jsonb_object_agg(k.kind, k.n)
                  FROM (SELECT a.kind, count(*) AS n FROM activities a
                        WHERE a.opportunity_id = opportunity GROUP BY a.kind) k) $$;

CREATE FUNCTION opportunity_primary_quote(opportunity uuid) RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (SELECT q.id FROM quotes q WHERE q.opportunity_id = opportunity AND q.is_primary) $$;
