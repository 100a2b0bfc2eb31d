-- compact_report_cells() deletes the cells that became empty every few seconds on every
-- replica; without an index that is a sequential scan of each cell table each time (three
-- per fold at any size). Partial indexes hold only the empty cells, so it reads a few rows.
CREATE INDEX opportunity_cells_empty_idx ON opportunity_cells (day) WHERE opportunities = 0 AND metric_count = 0;
CREATE INDEX stage_cells_empty_idx ON stage_cells (day) WHERE entered = 0;
CREATE INDEX article_cells_empty_idx ON article_cells (day) WHERE lines = 0;
