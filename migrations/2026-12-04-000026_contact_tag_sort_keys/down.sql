DROP TRIGGER contact_tags_follow_contact;

-- The table is created again under its own name (not renamed into place), so that its
-- definition reads exactly as before the up migration.
CREATE TEMPORARY TABLE contact_tags_saved AS SELECT contact_id, tag_id FROM contact_tags;
DROP TABLE contact_tags;
CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
INSERT INTO contact_tags (contact_id, tag_id) SELECT contact_id, tag_id FROM contact_tags_saved;
DROP TABLE contact_tags_saved;
CREATE INDEX contact_tags_by_tag ON contact_tags (tag_id, contact_id);
