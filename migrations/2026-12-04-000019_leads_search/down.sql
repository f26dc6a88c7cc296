DROP INDEX import_jobs_by_created;
ALTER TABLE import_jobs RENAME TO import_jobs_with_leads;
CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('contacts', 'companies')),
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
INSERT INTO import_jobs SELECT * FROM import_jobs_with_leads WHERE kind <> 'leads';
DROP TABLE import_jobs_with_leads;
CREATE INDEX import_jobs_by_created ON import_jobs (created_at);
DROP TABLE leads_fts;
