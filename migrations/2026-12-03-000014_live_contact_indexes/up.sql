-- Filtered lists read only live (not archived) records: with `archived_at` in the index,
-- a filter such as owner + tag checks every candidate row without reading the table.
DROP INDEX contacts_by_owner;
CREATE INDEX contacts_by_owner ON contacts (owner_id, archived_at, sort_name, id);
DROP INDEX contacts_by_stage;
CREATE INDEX contacts_by_stage ON contacts (lifecycle_stage, archived_at, sort_name, id);
DROP INDEX companies_by_owner;
CREATE INDEX companies_by_owner ON companies (owner_id, archived_at, sort_name, id);
