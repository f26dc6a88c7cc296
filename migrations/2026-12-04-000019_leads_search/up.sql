-- Leads in full-text search (SQLite FTS5, read and written only by src/search/): rowid is
-- the lead's id. Case and accents are folded; prefixes of 2 and 3 characters are indexed
-- for search-as-you-type. Existing leads are indexed here; every later write re-indexes.
CREATE VIRTUAL TABLE leads_fts USING fts5(
    name, email, phone, company, job_title,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO leads_fts (rowid, name, email, phone, company, job_title)
    SELECT id, first_name || ' ' || last_name, COALESCE(email, ''),
           COALESCE(phone || ' ' || REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
               phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), ''),
           COALESCE(company_name, ''), COALESCE(job_title, '')
    FROM leads;

-- The CSV importer imports leads too: import jobs may be of kind 'leads'.
DROP INDEX import_jobs_by_created;
ALTER TABLE import_jobs RENAME TO import_jobs_before_leads;
CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('contacts', 'companies', 'leads')),
    file_name TEXT NOT NULL,
    content BLOB,
    status TEXT NOT NULL CHECK (status IN ('uploaded', 'running', 'done', 'failed')),
    total_rows INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    created_count INTEGER NOT NULL DEFAULT 0,
    updated_count INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    report TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
INSERT INTO import_jobs SELECT * FROM import_jobs_before_leads;
DROP TABLE import_jobs_before_leads;
CREATE INDEX import_jobs_by_created ON import_jobs (created_at);
