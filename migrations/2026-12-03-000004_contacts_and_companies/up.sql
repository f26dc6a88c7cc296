CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    employee_count INTEGER,
    phone TEXT,
    address TEXT,
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    archived_at TIMESTAMP,
    last_activity_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX companies_by_name ON companies (sort_name, id);
CREATE INDEX companies_by_owner ON companies (owner_id, sort_name, id);
CREATE INDEX companies_by_domain ON companies (domain);
CREATE INDEX companies_by_created ON companies (created_at, id);
CREATE INDEX companies_by_activity ON companies (last_activity_at, id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    job_title TEXT,
    company_id INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'lead'
        CHECK (lifecycle_stage IN ('subscriber', 'lead', 'customer', 'churned')),
    address TEXT,
    description TEXT,
    archived_at TIMESTAMP,
    last_activity_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX contacts_by_name ON contacts (sort_name, id);
CREATE INDEX contacts_by_owner ON contacts (owner_id, sort_name, id);
CREATE INDEX contacts_by_company ON contacts (company_id, sort_name, id);
CREATE INDEX contacts_by_stage ON contacts (lifecycle_stage, sort_name, id);
CREATE INDEX contacts_by_created ON contacts (created_at, id);
CREATE INDEX contacts_by_activity ON contacts (last_activity_at, id);

CREATE TABLE contact_emails (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (contact_id, email)
);
CREATE INDEX contact_emails_by_email ON contact_emails (email);

CREATE TABLE contact_phones (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX contact_phones_by_contact ON contact_phones (contact_id);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX contact_tags_by_tag ON contact_tags (tag_id, contact_id);

CREATE TABLE company_tags (
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (company_id, tag_id)
);
CREATE INDEX company_tags_by_tag ON company_tags (tag_id, company_id);

-- One stream per customer: every entry names the contact and/or company it belongs to.
-- Later features add their own subject columns (deal, lead, ticket).
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
CREATE INDEX timeline_by_contact ON timeline_entries (contact_id, occurred_at, id);
CREATE INDEX timeline_by_company ON timeline_entries (company_id, occurred_at, id);

CREATE INDEX audit_log_by_target ON audit_log (target, id);
