DROP INDEX opportunities_closed_won_idx;
DROP INDEX opportunities_expected_open_idx;
DROP INDEX opportunity_stage_changes_changed_idx;
DROP INDEX opportunities_health_idx;
CREATE INDEX opportunities_health_idx ON opportunities (funnel_id, stage_id, last_contact_at)
    WHERE status = 'open';
DROP INDEX opportunities_owner_partner_idx;
DROP TRIGGER opportunity_cells_delete ON opportunities;
DROP TRIGGER opportunity_cells_update ON opportunities;
DROP TRIGGER opportunity_cells_insert ON opportunities;
DROP FUNCTION compact_opportunity_cells();
DROP FUNCTION opportunity_cells_trigger();
DROP FUNCTION record_opportunity_cells(opportunities[], opportunities[]);
DROP TABLE opportunity_cell_deltas;
DROP TABLE opportunity_cells;
