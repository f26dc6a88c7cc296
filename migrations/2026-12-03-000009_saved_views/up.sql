-- Saved views ("segments"): a named filter of a list (its query string), private to its
-- owner or shared with the team.
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list TEXT NOT NULL CHECK (list IN ('contacts', 'companies')),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX saved_views_by_owner ON saved_views (list, owner_id);
CREATE INDEX saved_views_by_shared ON saved_views (list, shared);
