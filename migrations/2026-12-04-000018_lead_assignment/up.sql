-- Round-robin assignment of new leads, and the lead a task was created for.

-- One row: whether round-robin is on and when the "first contact" task falls due.
CREATE TABLE lead_assignment_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    first_contact_hours INTEGER NOT NULL DEFAULT 4
        CHECK (first_contact_hours BETWEEN 0 AND 720),
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO lead_assignment_settings (id, enabled, first_contact_hours, updated_at)
    VALUES (1, FALSE, 4, CURRENT_TIMESTAMP);

-- A rotation: the default one (match_field NULL) or one for the leads of a source or a
-- grade. The first matching rule (lowest position) wins, else the default. `last_user_id` is
-- the pointer: the next lead goes to the first member after it, so every instance and every
-- restart continues the same turn.
CREATE TABLE lead_rotations (
    id INTEGER PRIMARY KEY,
    match_field TEXT CHECK (match_field IS NULL OR match_field IN ('source', 'grade')),
    match_value TEXT,
    position INTEGER NOT NULL,
    last_user_id INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (match_field, match_value)
);
INSERT INTO lead_rotations (id, match_field, match_value, position, created_at, updated_at)
    VALUES (1, NULL, NULL, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

CREATE TABLE lead_rotation_members (
    rotation_id INTEGER NOT NULL REFERENCES lead_rotations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (rotation_id, user_id)
);

-- Every round-robin assignment; `email_queued_at` is set in the transaction that queues the
-- rep's email, so it goes out once.
CREATE TABLE lead_assignments (
    lead_id INTEGER PRIMARY KEY REFERENCES leads (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rotation_id INTEGER REFERENCES lead_rotations (id) ON DELETE SET NULL,
    task_id INTEGER REFERENCES tasks (id) ON DELETE SET NULL,
    assigned_at TIMESTAMP NOT NULL,
    email_queued_at TIMESTAMP
);
CREATE INDEX lead_assignments_to_email ON lead_assignments (email_queued_at, assigned_at);

-- A task may be for a lead (the first-contact task); converting the lead links it to the
-- contact.
ALTER TABLE tasks ADD COLUMN lead_id INTEGER REFERENCES leads (id) ON DELETE CASCADE;
CREATE INDEX tasks_by_lead ON tasks (lead_id);
