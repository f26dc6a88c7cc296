-- Leads: people not yet qualified, with the score and grade admin-defined rules give them.
-- Scores and points are integer hundredths of a point (7.5 points are stored as 750).
CREATE TABLE leads (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company_name TEXT,
    job_title TEXT,
    company_size INTEGER,
    industry TEXT,
    country TEXT,
    website TEXT,
    source TEXT NOT NULL
        CHECK (source IN ('web_form', 'import', 'api', 'manual', 'referral', 'event', 'other')),
    status TEXT NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'contacted', 'qualified', 'unqualified', 'converted')),
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    score INTEGER NOT NULL DEFAULT 0,
    grade TEXT NOT NULL DEFAULT 'cold',
    -- The version of the scoring rules the score was computed with: a rule change bumps the
    -- version, and the background rescoring walks the leads still on an older one.
    scored_version INTEGER NOT NULL DEFAULT 0,
    converted_contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    converted_company_id INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    converted_deal_id INTEGER REFERENCES deals (id) ON DELETE SET NULL,
    converted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX leads_by_score ON leads (score, id);
CREATE INDEX leads_by_status ON leads (status, score, id);
CREATE INDEX leads_by_owner ON leads (owner_id, score, id);
CREATE INDEX leads_by_grade ON leads (grade, score, id);
CREATE INDEX leads_by_source ON leads (source, score, id);
CREATE INDEX leads_by_created ON leads (created_at, id);
CREATE INDEX leads_by_email ON leads (email);
CREATE INDEX leads_by_scored_version ON leads (scored_version, id);

CREATE TABLE lead_tags (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (lead_id, tag_id)
);
CREATE INDEX lead_tags_by_tag ON lead_tags (tag_id, lead_id);

-- Behavioural events (page views, form submissions, API events). Properties are a JSON
-- object kept as text, read by the scoring engine in Rust.
CREATE TABLE lead_events (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER REFERENCES leads (id) ON DELETE CASCADE,
    visitor_id TEXT,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_events_by_lead ON lead_events (lead_id, occurred_at, id);
CREATE INDEX lead_events_by_visitor ON lead_events (visitor_id, id);

CREATE TABLE lead_adjustments (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    points INTEGER NOT NULL,
    reason TEXT NOT NULL,
    author_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_adjustments_by_lead ON lead_adjustments (lead_id, id);

-- The score's history: one row each time a lead's score or grade changed.
CREATE TABLE lead_score_changes (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    previous_score INTEGER NOT NULL,
    previous_grade TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_score_changes_by_lead ON lead_score_changes (lead_id, recorded_at, id);

CREATE TABLE scoring_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cap INTEGER,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE scoring_rules (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('attribute', 'behaviour')),
    group_id INTEGER REFERENCES scoring_groups (id) ON DELETE SET NULL,
    -- attribute rules
    field TEXT,
    operator TEXT,
    value TEXT,
    -- behaviour rules
    event_name TEXT,
    filter_key TEXT,
    filter_operator TEXT,
    filter_value TEXT,
    counting TEXT CHECK (counting IN ('once', 'each')),
    rule_cap INTEGER,
    half_life_days INTEGER,
    points INTEGER NOT NULL,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

-- Grades from the highest limit down; the row without a limit is the lowest grade.
CREATE TABLE scoring_grades (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    min_points INTEGER
);
INSERT INTO scoring_grades (name, min_points) VALUES ('hot', 6000), ('warm', 3000), ('cold', NULL);

-- Leads land on the customer timeline too, with their behavioural events and score changes.
DROP INDEX timeline_by_deal;
DROP INDEX timeline_by_contact;
DROP INDEX timeline_by_company;
ALTER TABLE timeline_entries RENAME TO timeline_entries_before_leads;
CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    company_id INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    deal_id INTEGER REFERENCES deals (id) ON DELETE SET NULL,
    lead_id INTEGER REFERENCES leads (id) ON DELETE CASCADE,
    kind TEXT NOT NULL
        CHECK (kind IN ('note', 'call', 'meeting', 'email', 'change', 'deal', 'task', 'event',
                        'score')),
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
    FROM timeline_entries_before_leads;
DROP TABLE timeline_entries_before_leads;
CREATE INDEX timeline_by_contact ON timeline_entries (contact_id, occurred_at, id);
CREATE INDEX timeline_by_company ON timeline_entries (company_id, occurred_at, id);
CREATE INDEX timeline_by_deal ON timeline_entries (deal_id, occurred_at, id);
CREATE INDEX timeline_by_lead ON timeline_entries (lead_id, occurred_at, id);
