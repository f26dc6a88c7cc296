-- A website visitor can turn out to be a contact, not only a lead: a web form sent with a
-- contact's email, or the conversion of the lead the visitor was. The visitor's later
-- events then go to the contact. lead_id becomes optional, so the table is rebuilt.
DROP INDEX lead_visitors_by_lead;
ALTER TABLE lead_visitors RENAME TO lead_visitors_of_leads;
CREATE TABLE lead_visitors (
    visitor_id TEXT PRIMARY KEY,
    -- The lead the visitor was stitched to (kept after its conversion, for the record).
    lead_id INTEGER REFERENCES leads (id) ON DELETE SET NULL,
    -- The contact the visitor is: when set, it wins over lead_id.
    contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    stitched_at TIMESTAMP NOT NULL
);
INSERT INTO lead_visitors (visitor_id, lead_id, contact_id, stitched_at)
    SELECT v.visitor_id, v.lead_id, l.converted_contact_id, v.stitched_at
    FROM lead_visitors_of_leads v JOIN leads l ON l.id = v.lead_id;
DROP TABLE lead_visitors_of_leads;
CREATE INDEX lead_visitors_by_lead ON lead_visitors (lead_id);
CREATE INDEX lead_visitors_by_contact ON lead_visitors (contact_id);

-- When the stored score was computed: the lead page explains the score as of that moment,
-- so its lines add up to the score the list shows even after events have aged. Leads
-- scored before this column existed are rescored by the background worker.
ALTER TABLE leads ADD COLUMN scored_at TIMESTAMP;
UPDATE leads SET scored_version = 0;
