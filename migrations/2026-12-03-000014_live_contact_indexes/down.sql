DROP INDEX contacts_by_owner;
CREATE INDEX contacts_by_owner ON contacts (owner_id, sort_name, id);
DROP INDEX contacts_by_stage;
CREATE INDEX contacts_by_stage ON contacts (lifecycle_stage, sort_name, id);
DROP INDEX companies_by_owner;
CREATE INDEX companies_by_owner ON companies (owner_id, sort_name, id);
