DELETE FROM timeline_entries WHERE kind IN ('deal', 'task');
DROP INDEX timeline_by_deal;
DROP INDEX timeline_by_contact;
DROP INDEX timeline_by_company;
ALTER TABLE timeline_entries RENAME TO timeline_entries_with_deals;
CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    company_id INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'call', 'meeting', 'email', 'change')),
    author_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    occurred_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL,
    outcome TEXT,
    duration_minutes INTEGER,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO timeline_entries (id, contact_id, company_id, kind, author_id, occurred_at, body,
                              outcome, duration_minutes, created_at)
    SELECT id, contact_id, company_id, kind, author_id, occurred_at, body, outcome,
           duration_minutes, created_at
    FROM timeline_entries_with_deals;
DROP TABLE timeline_entries_with_deals;
CREATE INDEX timeline_by_contact ON timeline_entries (contact_id, occurred_at, id);
CREATE INDEX timeline_by_company ON timeline_entries (company_id, occurred_at, id);

DROP TABLE tasks;
DROP TABLE deal_stage_moves;
DROP TABLE deal_contacts;
DROP TABLE deals;
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
