DELETE FROM timeline_entries WHERE kind IN ('event', 'score')
    OR (lead_id IS NOT NULL AND contact_id IS NULL AND company_id IS NULL);
DROP INDEX timeline_by_lead;
DROP INDEX timeline_by_deal;
DROP INDEX timeline_by_contact;
DROP INDEX timeline_by_company;
ALTER TABLE timeline_entries RENAME TO timeline_entries_with_leads;
CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    company_id INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    deal_id INTEGER REFERENCES deals (id) ON DELETE SET NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('note', 'call', 'meeting', 'email', 'change', 'deal', 'task')),
    author_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    occurred_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL,
    outcome TEXT,
    duration_minutes INTEGER,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO timeline_entries (id, contact_id, company_id, deal_id, kind, author_id,
                              occurred_at, body, outcome, duration_minutes, created_at)
    SELECT id, contact_id, company_id, deal_id, kind, author_id, occurred_at, body, outcome,
           duration_minutes, created_at
    FROM timeline_entries_with_leads;
DROP TABLE timeline_entries_with_leads;
CREATE INDEX timeline_by_contact ON timeline_entries (contact_id, occurred_at, id);
CREATE INDEX timeline_by_company ON timeline_entries (company_id, occurred_at, id);
CREATE INDEX timeline_by_deal ON timeline_entries (deal_id, occurred_at, id);

DROP TABLE scoring_grades;
DROP TABLE scoring_rules;
DROP TABLE scoring_groups;
DROP TABLE lead_score_changes;
DROP TABLE lead_adjustments;
DROP TABLE lead_events;
DROP TABLE lead_tags;
DROP TABLE leads;
