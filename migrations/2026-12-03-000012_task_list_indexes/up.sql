-- The task list's other views: the tasks one created for others, and everyone's (admins);
-- the Done section pages newest first by (completed_at, id).
CREATE INDEX tasks_by_creator ON tasks (created_by, completed_at, due_at, id);
CREATE INDEX tasks_by_due ON tasks (completed_at, due_at, id);
CREATE INDEX tasks_done ON tasks (completed_at, id);
CREATE INDEX tasks_done_by_assignee ON tasks (assignee_id, completed_at, id);

-- A record's panel asks for its open tasks by due time: with the record's id alone, SQLite
-- would rather walk every open task in due order than sort a record's few tasks.
DROP INDEX tasks_by_contact;
DROP INDEX tasks_by_company;
DROP INDEX tasks_by_deal;
CREATE INDEX tasks_by_contact ON tasks (contact_id, completed_at, due_at, id);
CREATE INDEX tasks_by_company ON tasks (company_id, completed_at, due_at, id);
CREATE INDEX tasks_by_deal ON tasks (deal_id, completed_at, due_at, id);
