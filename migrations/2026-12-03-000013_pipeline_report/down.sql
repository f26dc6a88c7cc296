DROP INDEX deals_closed_by_status;
DROP INDEX deal_stage_moves_journey;
