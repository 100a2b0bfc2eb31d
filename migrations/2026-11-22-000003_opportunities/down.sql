DROP TABLE activities;
DROP TABLE opportunity_stage_changes;
DROP TABLE opportunity_lines;
DROP TABLE opportunities;
DROP FUNCTION opportunity_health;
DROP FUNCTION health_cutoff;
