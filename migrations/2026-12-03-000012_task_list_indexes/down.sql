DROP INDEX tasks_by_deal;
DROP INDEX tasks_by_company;
DROP INDEX tasks_by_contact;
CREATE INDEX tasks_by_contact ON tasks (contact_id);
CREATE INDEX tasks_by_company ON tasks (company_id);
CREATE INDEX tasks_by_deal ON tasks (deal_id);

DROP INDEX tasks_done_by_assignee;
DROP INDEX tasks_done;
DROP INDEX tasks_by_due;
DROP INDEX tasks_by_creator;
