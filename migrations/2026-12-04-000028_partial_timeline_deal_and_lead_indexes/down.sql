DROP INDEX timeline_by_deal;
DROP INDEX timeline_by_lead;
CREATE INDEX timeline_by_deal ON timeline_entries (deal_id, occurred_at, id);
CREATE INDEX timeline_by_lead ON timeline_entries (lead_id, occurred_at, id);
