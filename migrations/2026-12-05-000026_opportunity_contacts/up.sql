-- The buying centre of an opportunity: contact persons of its business partner with their role
-- in the purchase, in the order the caller gave them (`position`). Deleting an opportunity takes
-- its list along; deleting a contact that an opportunity names is refused (409): the person
-- stays on record, deactivated, so that the opportunity's history stays true.
CREATE TABLE opportunity_contacts (
    opportunity_id uuid     NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
    contact_id     uuid     NOT NULL REFERENCES contacts (id) ON DELETE RESTRICT,
    role           text     NOT NULL
                   CHECK (role IN ('decision_maker', 'buyer', 'technical', 'user', 'influencer', 'other')),
    position       smallint NOT NULL CHECK (position >= 0),
    -- A person appears once per opportunity; the key also serves the reads of an opportunity's
    -- contacts (every opportunity read) by its leading column.
    PRIMARY KEY (opportunity_id, contact_id)
);
-- The other side: the opportunities a contact is on (the delete check, the foreign key's check).
CREATE INDEX opportunity_contacts_contact_idx ON opportunity_contacts (contact_id, opportunity_id);

-- The person an activity was with: a contact of the activity's partner.
ALTER TABLE activities ADD COLUMN contact_id uuid REFERENCES contacts (id) ON DELETE RESTRICT;
-- The activity list's `contact_id` filter in timeline order, and the foreign key's check.
CREATE INDEX activities_contact_person_idx ON activities (contact_id, timeline_at, id)
    WHERE contact_id IS NOT NULL;
