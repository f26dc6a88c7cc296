-- Website behaviour: the write keys websites send events with, which visitor turned out to
-- be which lead, and events about contacts (a known customer browsing the website).
CREATE TABLE site_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    -- SHA-256 of the key; the key itself is shown once, when it is created.
    key_hash TEXT NOT NULL UNIQUE,
    -- The key's first characters, so an admin can tell keys apart.
    key_hint TEXT NOT NULL,
    -- Origins (https://host[:port]) browsers may send events from, one per line.
    allowed_origins TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- A visitor id (from the website script) once it is known whose it is: later events of
-- that visitor go straight to the lead.
CREATE TABLE lead_visitors (
    visitor_id TEXT PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    stitched_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_visitors_by_lead ON lead_visitors (lead_id);

ALTER TABLE lead_events ADD COLUMN contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE;
CREATE INDEX lead_events_by_contact ON lead_events (contact_id, occurred_at, id);
