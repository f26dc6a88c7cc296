-- The pipeline report reads every move of the deals in its range, deal by deal: this index
-- holds all it needs (stage, status, time) in journey order, so the read is one range scan
-- with no look-up into the table.
CREATE INDEX deal_stage_moves_journey
    ON deal_stage_moves (deal_id, moved_at, id, to_stage_id, to_status);

-- Deals won or lost in a range: counted (lost) or read (won: value, currency, creation
-- time) straight from the index.
CREATE INDEX deals_closed_by_status
    ON deals (pipeline_id, status, closed_at, created_at, value_minor, currency);
