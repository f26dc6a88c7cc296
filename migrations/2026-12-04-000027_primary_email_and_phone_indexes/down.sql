DROP INDEX contact_phones_primary;
DROP INDEX contact_emails_primary;
