-- Sales pipelines: ordered open stages per pipeline; a deal is open in a stage, or won or
-- lost (it keeps the stage it was won or lost in, which the bottleneck report reads).
CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE pipeline_stages (
    id INTEGER PRIMARY KEY,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    win_probability INTEGER NOT NULL CHECK (win_probability BETWEEN 0 AND 100),
    -- A deal longer than this in the stage is rotting; NULL: never.
    rotting_days INTEGER CHECK (rotting_days IS NULL OR rotting_days > 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (pipeline_id, name)
);
CREATE INDEX pipeline_stages_in_order ON pipeline_stages (pipeline_id, position, id);

CREATE TABLE deals (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    -- Integer minor units of `currency` (ISO 4217): cents for EUR, yen for JPY.
    value_minor BIGINT NOT NULL CHECK (value_minor >= 0),
    currency TEXT NOT NULL,
    expected_close_on DATE,
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    company_id INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id),
    stage_id INTEGER NOT NULL REFERENCES pipeline_stages (id),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
    source TEXT,
    lost_reason TEXT,
    -- When the deal entered its current stage: days in stage and rotting count from here.
    stage_entered_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX deals_on_board ON deals (pipeline_id, status, stage_id, stage_entered_at, id);
CREATE INDEX deals_by_owner ON deals (owner_id, status, expected_close_on, id);
CREATE INDEX deals_by_company ON deals (company_id, id);
CREATE INDEX deals_by_stage ON deals (stage_id, status);
CREATE INDEX deals_closed ON deals (pipeline_id, closed_at, id);
CREATE INDEX deals_by_created ON deals (pipeline_id, created_at, id);

CREATE TABLE deal_contacts (
    deal_id INTEGER NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (deal_id, contact_id)
);
CREATE INDEX deal_contacts_by_contact ON deal_contacts (contact_id, deal_id);

-- Every stage move and every win or loss, in order: the deal's journey. The first row of a
-- deal (from_stage_id NULL, from_status NULL) is its creation.
CREATE TABLE deal_stage_moves (
    id INTEGER PRIMARY KEY,
    deal_id INTEGER NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    from_stage_id INTEGER REFERENCES pipeline_stages (id) ON DELETE SET NULL,
    to_stage_id INTEGER REFERENCES pipeline_stages (id) ON DELETE SET NULL,
    from_status TEXT CHECK (from_status IS NULL OR from_status IN ('open', 'won', 'lost')),
    to_status TEXT NOT NULL CHECK (to_status IN ('open', 'won', 'lost')),
    moved_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    moved_at TIMESTAMP NOT NULL
);
CREATE INDEX deal_stage_moves_by_deal ON deal_stage_moves (deal_id, moved_at, id);
CREATE INDEX deal_stage_moves_into_stage ON deal_stage_moves (to_stage_id, deal_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    -- UTC.
    due_at TIMESTAMP NOT NULL,
    assignee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    company_id INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    deal_id INTEGER REFERENCES deals (id) ON DELETE CASCADE,
    completed_at TIMESTAMP,
    -- Set in the transaction that queues the reminder email, so it is sent once.
    reminder_queued_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_by_assignee ON tasks (assignee_id, completed_at, due_at, id);
CREATE INDEX tasks_due_for_reminder ON tasks (reminder_queued_at, completed_at, due_at);
CREATE INDEX tasks_by_contact ON tasks (contact_id);
CREATE INDEX tasks_by_company ON tasks (company_id);
CREATE INDEX tasks_by_deal ON tasks (deal_id);

-- Deals and tasks land on the customer timeline: widen its kinds and let an entry name its
-- deal. SQLite cannot alter a CHECK constraint, so the table is rebuilt under its own name.
DROP INDEX timeline_by_contact;
DROP INDEX timeline_by_company;
ALTER TABLE timeline_entries RENAME TO timeline_entries_before_deals;
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
INSERT INTO timeline_entries (id, contact_id, company_id, kind, author_id, occurred_at, body,
                              outcome, duration_minutes, created_at)
    SELECT id, contact_id, company_id, kind, author_id, occurred_at, body, outcome,
           duration_minutes, created_at
    FROM timeline_entries_before_deals;
DROP TABLE timeline_entries_before_deals;
CREATE INDEX timeline_by_contact ON timeline_entries (contact_id, occurred_at, id);
CREATE INDEX timeline_by_company ON timeline_entries (company_id, occurred_at, id);
CREATE INDEX timeline_by_deal ON timeline_entries (deal_id, occurred_at, id);

-- A fresh install starts with one pipeline.
INSERT INTO pipelines (id, name, position, created_at, updated_at)
    VALUES (1, 'Sales', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
INSERT INTO pipeline_stages (pipeline_id, name, position, win_probability, rotting_days,
                             created_at, updated_at) VALUES
    (1, 'Qualified', 0, 10, 14, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    (1, 'Contact made', 1, 20, 14, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    (1, 'Demo scheduled', 2, 40, 14, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    (1, 'Proposal made', 3, 60, 21, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    (1, 'Negotiation', 4, 80, 30, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
