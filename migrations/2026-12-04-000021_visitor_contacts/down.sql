ALTER TABLE leads DROP COLUMN scored_at;

DROP INDEX lead_visitors_by_contact;
DROP INDEX lead_visitors_by_lead;
ALTER TABLE lead_visitors RENAME TO lead_visitors_with_contacts;
CREATE TABLE lead_visitors (
    visitor_id TEXT PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    stitched_at TIMESTAMP NOT NULL
);
INSERT INTO lead_visitors (visitor_id, lead_id, stitched_at)
    SELECT visitor_id, lead_id, stitched_at
    FROM lead_visitors_with_contacts
    WHERE lead_id IS NOT NULL;
DROP TABLE lead_visitors_with_contacts;
CREATE INDEX lead_visitors_by_lead ON lead_visitors (lead_id);
