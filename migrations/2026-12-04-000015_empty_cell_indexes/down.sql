DROP INDEX article_cells_empty_idx;
DROP INDEX stage_cells_empty_idx;
DROP INDEX opportunity_cells_empty_idx;
