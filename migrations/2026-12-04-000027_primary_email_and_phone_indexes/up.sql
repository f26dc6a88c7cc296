-- A list page shows each contact's primary email, and search its primary email and phone:
-- these partial indexes hold the value (and the flag, which SQLite needs to see in the index
-- to read from it alone), so reading it does not visit the table row.
-- The queries name the flag bare (`WHERE is_primary`) so that the planner can use them.
CREATE INDEX contact_emails_primary ON contact_emails (contact_id, email, is_primary) WHERE is_primary;
CREATE INDEX contact_phones_primary ON contact_phones (contact_id, phone, is_primary) WHERE is_primary;
