DROP TABLE companies_fts;
DROP TABLE contacts_fts;
