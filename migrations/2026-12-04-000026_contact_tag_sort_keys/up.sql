-- Each tag link carries a copy of its contact's owner, archive time and sort name, kept by a
-- trigger, so that a list filtered by a tag (and an owner) walks one index in name order and
-- stops at the page size, instead of probing every contact of the owner for the tag.
CREATE TABLE contact_tags_keyed (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    owner_id INTEGER,
    archived_at TIMESTAMP,
    sort_name TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag_id)
);

INSERT INTO contact_tags_keyed (contact_id, tag_id, owner_id, archived_at, sort_name)
SELECT contact_tags.contact_id, contact_tags.tag_id, contacts.owner_id, contacts.archived_at,
       contacts.sort_name
FROM contact_tags
JOIN contacts ON contacts.id = contact_tags.contact_id;

DROP TABLE contact_tags;
ALTER TABLE contact_tags_keyed RENAME TO contact_tags;

CREATE INDEX contact_tags_by_name ON contact_tags (tag_id, archived_at, sort_name, contact_id);
CREATE INDEX contact_tags_by_owner
    ON contact_tags (tag_id, owner_id, archived_at, sort_name, contact_id);

CREATE TRIGGER contact_tags_follow_contact
AFTER UPDATE OF owner_id, archived_at, sort_name ON contacts
WHEN NEW.owner_id IS NOT OLD.owner_id
  OR NEW.archived_at IS NOT OLD.archived_at
  OR NEW.sort_name IS NOT OLD.sort_name
BEGIN
    UPDATE contact_tags
    SET owner_id = NEW.owner_id, archived_at = NEW.archived_at, sort_name = NEW.sort_name
    WHERE contact_id = NEW.id;
END;
