DROP TRIGGER contact_tags_follow_contact;

CREATE TABLE contact_tags_plain (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
INSERT INTO contact_tags_plain (contact_id, tag_id) SELECT contact_id, tag_id FROM contact_tags;
DROP TABLE contact_tags;
ALTER TABLE contact_tags_plain RENAME TO contact_tags;
CREATE INDEX contact_tags_by_tag ON contact_tags (tag_id, contact_id);
