(SELECT * FROM opportunity_cells UNION ALL SELECT * FROM opportunity_cell_deltas)
