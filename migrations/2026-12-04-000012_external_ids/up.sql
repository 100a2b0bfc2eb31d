-- The ERP's own key on partners, opportunities and activities: unique per resource,
-- case-sensitive, set by admins and the integration role; `PUT …/by-external-id/{external_id}`
-- upserts by it.
ALTER TABLE business_partners ADD COLUMN external_id text
    CONSTRAINT business_partners_external_id_length CHECK (length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX business_partners_external_id_key ON business_partners (external_id);
ALTER TABLE opportunities ADD COLUMN external_id text
    CONSTRAINT opportunities_external_id_length CHECK (length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX opportunities_external_id_key ON opportunities (external_id);
ALTER TABLE activities ADD COLUMN external_id text
    CONSTRAINT activities_external_id_length CHECK (length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX activities_external_id_key ON activities (external_id);
