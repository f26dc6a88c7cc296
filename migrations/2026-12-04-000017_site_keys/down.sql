DROP INDEX lead_events_by_contact;
-- A column with a foreign key cannot be dropped in place on SQLite: rebuild the table.
DROP INDEX lead_events_by_lead;
DROP INDEX lead_events_by_visitor;
ALTER TABLE lead_events RENAME TO lead_events_with_contacts;
CREATE TABLE lead_events (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER REFERENCES leads (id) ON DELETE CASCADE,
    visitor_id TEXT,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL
);
INSERT INTO lead_events (id, lead_id, visitor_id, name, properties, occurred_at, received_at)
    SELECT id, lead_id, visitor_id, name, properties, occurred_at, received_at
    FROM lead_events_with_contacts
    WHERE contact_id IS NULL;
DROP TABLE lead_events_with_contacts;
CREATE INDEX lead_events_by_lead ON lead_events (lead_id, occurred_at, id);
CREATE INDEX lead_events_by_visitor ON lead_events (visitor_id, id);

DROP INDEX lead_visitors_by_lead;
DROP TABLE lead_visitors;
DROP TABLE site_keys;
