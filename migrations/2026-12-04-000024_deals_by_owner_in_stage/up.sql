-- The home page's rotting deals: an owner's open deals, longest in their stage first.
CREATE INDEX deals_by_owner_in_stage ON deals (owner_id, status, stage_entered_at, id);
