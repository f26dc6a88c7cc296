-- Web-to-lead forms: what a website's form shows and asks for, where its visitors go after
-- sending it, and which sites may post it. `fields` and `required_fields` are comma-separated
-- field keys in display order; `allowed_origins` one origin per line (none = any site).
CREATE TABLE lead_forms (
    id INTEGER PRIMARY KEY,
    form_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    required_fields TEXT NOT NULL,
    source_label TEXT NOT NULL,
    thank_you_message TEXT NOT NULL,
    redirect_url TEXT,
    allowed_origins TEXT NOT NULL DEFAULT '',
    double_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    submissions INTEGER NOT NULL DEFAULT 0,
    last_submission_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Submissions of double opt-in forms waiting for the click on the emailed link. Only the
-- token's hash is kept; `confirmed_at` makes a link single use.
CREATE TABLE lead_form_confirmations (
    id INTEGER PRIMARY KEY,
    form_id INTEGER NOT NULL REFERENCES lead_forms (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    submission TEXT NOT NULL,
    visitor_id TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP
);
CREATE INDEX lead_form_confirmations_by_form ON lead_form_confirmations (form_id, id);
