-- The board's column figures: count and total per stage and currency of a pipeline's open
-- deals (optionally one owner's), read from this index in its order, without the table.
CREATE INDEX deals_board_cover ON deals (pipeline_id, status, stage_id, currency, value_minor,
                                         owner_id);

-- The deal list sorts within a pipeline by each of these, paged by (key, id).
CREATE INDEX deals_list_by_title ON deals (pipeline_id, title, id);
CREATE INDEX deals_list_by_value ON deals (pipeline_id, value_minor, id);
CREATE INDEX deals_list_by_close ON deals (pipeline_id, expected_close_on, id);
CREATE INDEX deals_list_by_stage_entered ON deals (pipeline_id, stage_entered_at, id);
