-- Full-text search (SQLite FTS5). Only src/search/ reads or writes these tables; each row's
-- rowid is the id of the record it indexes. Case and accents are folded, prefixes of 2 and
-- 3 characters are indexed for fast search-as-you-type.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, emails, phones, company, job_title,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE companies_fts USING fts5(
    name, domain, phone, industry,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
