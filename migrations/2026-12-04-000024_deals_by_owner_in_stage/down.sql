DROP INDEX deals_by_owner_in_stage;
