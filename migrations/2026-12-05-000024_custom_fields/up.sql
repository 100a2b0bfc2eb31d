-- Custom fields: definitions per resource (`/custom-fields`), values in a `custom` jsonb
-- object on each resource's row.
CREATE TABLE custom_fields (
    id                      uuid        PRIMARY KEY,
    resource                text        NOT NULL
        CHECK (resource IN ('opportunity', 'business_partner', 'contact', 'quote', 'activity')),
    key                     text        NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label                   text        NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    type                    text        NOT NULL
        CHECK (type IN ('text', 'number', 'money', 'date', 'boolean', 'enum', 'multi_enum')),
    options                 text[]      NOT NULL DEFAULT '{}',
    required_from_stage_ids uuid[]      NOT NULL DEFAULT '{}',
    show_on_quote           boolean     NOT NULL DEFAULT false,
    active                  boolean     NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    version                 integer     NOT NULL DEFAULT 1,
    UNIQUE (resource, key)
);

ALTER TABLE opportunities ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';
ALTER TABLE business_partners ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';
ALTER TABLE quotes ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';
ALTER TABLE activities ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';

-- The values of the five resources as typed rows, one per value (one per option of a
-- multi_enum), so that a filter `custom.<key>=` or a range `_from`/`_to` on any key is an
-- index range scan on (field, value) whatever the key: numbers and money in `num`, dates in
-- `day`, text, enums and booleans in `txt`. Kept by triggers in the transaction that writes
-- the row; deleting a definition drops its rows (the jsonb keeps the values).
CREATE TABLE custom_values (
    field_id  uuid    NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    entity_id uuid    NOT NULL,
    num       numeric,
    day       date,
    txt       text,
    -- The position of a multi_enum option (0 for other values).
    item      integer NOT NULL,
    PRIMARY KEY (entity_id, field_id, item)
);
CREATE INDEX custom_values_num_idx ON custom_values (field_id, num, entity_id) WHERE num IS NOT NULL;
CREATE INDEX custom_values_day_idx ON custom_values (field_id, day, entity_id) WHERE day IS NOT NULL;
CREATE INDEX custom_values_txt_idx ON custom_values (field_id, txt, entity_id) WHERE txt IS NOT NULL;

-- The values of a row's `custom` under the definitions of `resource`, typed. Values that do not
-- read as their type (left by a deleted definition of another type) are skipped, never an error.
CREATE FUNCTION custom_typed(p_resource text, p_custom jsonb)
RETURNS TABLE (field_id uuid, item integer, num numeric, day date, txt text)
LANGUAGE sql STABLE AS $$
    SELECT f.id, v.item,
           CASE WHEN f.type IN ('number', 'money') AND v.text ~ '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
                THEN v.text::numeric END,
           CASE WHEN f.type = 'date' AND v.text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN v.text::date END,
           CASE WHEN f.type IN ('text', 'enum', 'multi_enum', 'boolean') THEN v.text END
    FROM jsonb_each(p_custom) e
    JOIN custom_fields f ON f.resource = p_resource AND f.key = e.key
    CROSS JOIN LATERAL (
        SELECT x.value #>> '{}' AS text, (x.ordinality - 1)::integer AS item
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value
                                       ELSE jsonb_build_array(e.value) END) WITH ORDINALITY x
        WHERE f.type = 'multi_enum' OR jsonb_typeof(e.value) <> 'array'
    ) v
$$;

-- `custom` with only the keys that have a definition: values of a deleted definition are kept
-- in the row but not shown.
CREATE FUNCTION custom_shown(p_resource text, p_custom jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_custom = '{}'::jsonb THEN p_custom ELSE (
        SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
        FROM jsonb_each(p_custom) e
        WHERE EXISTS (SELECT 1 FROM custom_fields f WHERE f.resource = p_resource AND f.key = e.key)
    ) END
$$;

-- A merge patch of stored values: `set` replaces its keys, `removed` keys go; values of deleted
-- definitions, which no request shows, stay as they are.
CREATE FUNCTION custom_merge(p_custom jsonb, p_set jsonb, p_removed text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_custom || p_set) - p_removed
$$;

CREATE FUNCTION custom_values_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF TG_OP = 'UPDATE' AND NEW.custom = OLD.custom THEN
            RETURN NULL;
        END IF;
        IF OLD.custom <> '{}'::jsonb THEN
            DELETE FROM custom_values WHERE entity_id = OLD.id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.custom <> '{}'::jsonb THEN
        INSERT INTO custom_values (field_id, entity_id, num, day, txt, item)
        SELECT t.field_id, NEW.id, t.num, t.day, t.txt, t.item
        FROM custom_typed(TG_ARGV[0], NEW.custom) t
        WHERE t.num IS NOT NULL OR t.day IS NOT NULL OR t.txt IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER opportunities_custom_values AFTER INSERT OR UPDATE OF custom OR DELETE ON opportunities
    FOR EACH ROW EXECUTE FUNCTION custom_values_sync('opportunity');
CREATE TRIGGER business_partners_custom_values AFTER INSERT OR UPDATE OF custom OR DELETE ON business_partners
    FOR EACH ROW EXECUTE FUNCTION custom_values_sync('business_partner');
CREATE TRIGGER contacts_custom_values AFTER INSERT OR UPDATE OF custom OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION custom_values_sync('contact');
CREATE TRIGGER quotes_custom_values AFTER INSERT OR UPDATE OF custom OR DELETE ON quotes
    FOR EACH ROW EXECUTE FUNCTION custom_values_sync('quote');
CREATE TRIGGER activities_custom_values AFTER INSERT OR UPDATE OF custom OR DELETE ON activities
    FOR EACH ROW EXECUTE FUNCTION custom_values_sync('activity');
