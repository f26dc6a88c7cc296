-- Most timeline entries are about a contact or a company, not a deal or a lead: indexing only
-- the entries that name one keeps these indexes a fraction of their size, and every
-- timeline write (and the bulk rebuild after seeding) skips them for the rest. A lookup by
-- `deal_id = ?` or `lead_id = ?` implies the column is not null, so it still uses them.
DROP INDEX timeline_by_deal;
DROP INDEX timeline_by_lead;
CREATE INDEX timeline_by_deal ON timeline_entries (deal_id, occurred_at, id)
    WHERE deal_id IS NOT NULL;
CREATE INDEX timeline_by_lead ON timeline_entries (lead_id, occurred_at, id)
    WHERE lead_id IS NOT NULL;
